-- frictionkit DuckDB schema, version 1. Mirrors sql/clickhouse/ table for table.
-- Timestamps are TIMESTAMP holding UTC (DuckDB has no zone on plain TIMESTAMP;
-- every writer converts to UTC first). DuckDB has no ReplacingMergeTree:
-- dedup and "latest version wins" are done by the writer (anti-join on insert
-- for events_raw, delete-then-insert per session for the fact tables).

CREATE TABLE IF NOT EXISTS events_raw (
    org_id VARCHAR NOT NULL,
    product_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    user_hash VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    event_type VARCHAR NOT NULL,
    screen_id VARCHAR NOT NULL,
    route VARCHAR NOT NULL,
    device_type VARCHAR NOT NULL,
    app_name VARCHAR,
    element_type VARCHAR,
    element_label_hash VARCHAR,
    error_code VARCHAR,
    os VARCHAR,
    browser VARCHAR,
    latency_ms DOUBLE,
    extra VARCHAR,              -- JSON object text
    received_at TIMESTAMP,
    agent_id VARCHAR,
    sdk_version VARCHAR
);

CREATE TABLE IF NOT EXISTS fact_sessions (
    org_id VARCHAR NOT NULL,
    product_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    client_session_id VARCHAR NOT NULL,
    user_hash VARCHAR NOT NULL,
    start_ts TIMESTAMP NOT NULL,
    end_ts TIMESTAMP NOT NULL,
    duration_ms BIGINT NOT NULL,
    event_count INTEGER NOT NULL,
    click_count INTEGER NOT NULL,
    screen_views INTEGER NOT NULL,
    unique_screens INTEGER NOT NULL,
    rage_clicks INTEGER NOT NULL,
    backtracks INTEGER NOT NULL,
    context_switches INTEGER NOT NULL,
    tasks_started INTEGER NOT NULL,
    tasks_completed INTEGER NOT NULL,
    tasks_failed INTEGER NOT NULL,
    tasks_abandoned INTEGER NOT NULL,
    error_events INTEGER NOT NULL,
    error_clicks INTEGER NOT NULL,
    frustration_score DOUBLE NOT NULL,
    efficiency_score DOUBLE NOT NULL,
    entry_screen VARCHAR NOT NULL,
    exit_screen VARCHAR NOT NULL,
    device_type VARCHAR NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS fact_incidents (
    incident_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    product_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    incident_type VARCHAR NOT NULL,
    screen_id VARCHAR NOT NULL,
    route VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    end_ts TIMESTAMP NOT NULL,
    first_event_id VARCHAR NOT NULL,
    click_count INTEGER NOT NULL,
    duration_ms BIGINT NOT NULL,
    task_name VARCHAR
);

CREATE TABLE IF NOT EXISTS fact_session_screens (
    org_id VARCHAR NOT NULL,
    product_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    screen_id VARCHAR NOT NULL,
    route VARCHAR NOT NULL,
    session_start_ts TIMESTAMP NOT NULL,
    events INTEGER NOT NULL,
    views INTEGER NOT NULL,
    dwell_ms BIGINT NOT NULL,
    clicks INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    rage_clicks INTEGER NOT NULL,
    backtracks INTEGER NOT NULL,
    abandoned_tasks INTEGER NOT NULL,
    error_clicks INTEGER NOT NULL,
    frustration_score DOUBLE NOT NULL,
    efficiency_score DOUBLE NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS fact_task_runs (
    org_id VARCHAR NOT NULL,
    product_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    task_name VARCHAR,          -- NULL: a session flow (no task markers)
    run_index INTEGER NOT NULL,
    start_ts TIMESTAMP NOT NULL,
    end_ts TIMESTAMP NOT NULL,
    duration_ms BIGINT NOT NULL,
    outcome VARCHAR NOT NULL,
    path VARCHAR[] NOT NULL,
    path_ts_ms BIGINT[] NOT NULL,
    session_start_ts TIMESTAMP NOT NULL,
    frustration_score DOUBLE NOT NULL,
    version BIGINT NOT NULL
);

-- Daily rollups (`frictionkit rollup`): additive counters only, rebuilt per day.
CREATE TABLE IF NOT EXISTS fact_screen_hotspots (
    day DATE NOT NULL,
    org_id VARCHAR NOT NULL,
    product_id VARCHAR NOT NULL,
    screen_id VARCHAR NOT NULL,
    sessions BIGINT NOT NULL,
    impact_sessions BIGINT NOT NULL,
    rage_sessions BIGINT NOT NULL,
    dropoff_sessions BIGINT NOT NULL,
    views BIGINT NOT NULL,
    dwell_ms BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    rage_clicks BIGINT NOT NULL,
    backtracks BIGINT NOT NULL,
    abandoned_tasks BIGINT NOT NULL,
    error_clicks BIGINT NOT NULL,
    frustration_sum DOUBLE NOT NULL,
    efficiency_sum DOUBLE NOT NULL
);

CREATE TABLE IF NOT EXISTS mp_ux_friction_daily (
    day DATE NOT NULL,
    task_type VARCHAR NOT NULL,
    median_clicks DOUBLE NOT NULL,
    median_duration_ms DOUBLE NOT NULL,
    mean_frustration DOUBLE NOT NULL,
    p90_frustration DOUBLE NOT NULL,
    sample_sessions BIGINT NOT NULL,
    org_count BIGINT NOT NULL
);
