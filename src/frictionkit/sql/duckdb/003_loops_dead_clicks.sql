-- frictionkit DuckDB schema, version 2: the loop and dead_click incident types
-- (per-type counters) and the agent's `dead` mark on click events.
-- DuckDB cannot add a column with a NOT NULL constraint; DEFAULT 0 fills the
-- rows written before, and every writer sets the counters.
ALTER TABLE events_raw ADD COLUMN IF NOT EXISTS dead BOOLEAN;
ALTER TABLE fact_sessions ADD COLUMN IF NOT EXISTS loops INTEGER DEFAULT 0;
ALTER TABLE fact_sessions ADD COLUMN IF NOT EXISTS dead_clicks INTEGER DEFAULT 0;
ALTER TABLE fact_session_screens ADD COLUMN IF NOT EXISTS loops INTEGER DEFAULT 0;
ALTER TABLE fact_session_screens ADD COLUMN IF NOT EXISTS dead_clicks INTEGER DEFAULT 0;
ALTER TABLE fact_screen_hotspots ADD COLUMN IF NOT EXISTS loops BIGINT DEFAULT 0;
ALTER TABLE fact_screen_hotspots ADD COLUMN IF NOT EXISTS dead_clicks BIGINT DEFAULT 0;
ALTER TABLE fact_screen_hotspots ADD COLUMN IF NOT EXISTS dead_click_sessions BIGINT DEFAULT 0;
