-- frictionkit ClickHouse schema, version 3: the loop and dead_click incident
-- types (per-type counters) and the agent's `dead` mark on click events.
-- Rows written before read 0 / NULL. store/ddl.py sends each ALTER to both the
-- local and the Distributed table on a cluster.
ALTER TABLE events_raw ADD COLUMN IF NOT EXISTS dead Nullable(Bool);
ALTER TABLE fact_sessions ADD COLUMN IF NOT EXISTS loops UInt32 DEFAULT 0;
ALTER TABLE fact_sessions ADD COLUMN IF NOT EXISTS dead_clicks UInt32 DEFAULT 0;
ALTER TABLE fact_session_screens ADD COLUMN IF NOT EXISTS loops UInt32 DEFAULT 0;
ALTER TABLE fact_session_screens ADD COLUMN IF NOT EXISTS dead_clicks UInt32 DEFAULT 0;
ALTER TABLE fact_screen_hotspots ADD COLUMN IF NOT EXISTS loops UInt64 DEFAULT 0;
ALTER TABLE fact_screen_hotspots ADD COLUMN IF NOT EXISTS dead_clicks UInt64 DEFAULT 0;
ALTER TABLE fact_screen_hotspots ADD COLUMN IF NOT EXISTS dead_click_sessions UInt64 DEFAULT 0;
