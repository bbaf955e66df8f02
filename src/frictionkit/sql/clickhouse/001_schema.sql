-- frictionkit ClickHouse schema, version 1: raw events and the per-session facts.
-- Same tables and columns as sql/duckdb/001_schema.sql (fact_incidents adds
-- `version`, see below). Single-node DDL; store/ddl.py derives the cluster
-- form (ON CLUSTER, Replicated*, Distributed) from these statements, so keep
-- one `CREATE TABLE IF NOT EXISTS name (...) ENGINE = X(...) ...;` per table.
--
-- No multi-statement transactions here: a retried or repeated write must
-- converge to the same rows. Every table is a ReplacingMergeTree whose ORDER BY
-- is the row's identity, and every read uses FINAL, so a row written twice
-- (at-least-once delivery, a second replay) is counted once even before the
-- background merge removes it.
--
-- ORDER BY: every insight query is `org_id = ? AND product_id = ?` plus a time
-- window, so (org_id, product_id) leads every key and the primary index skips
-- other tenants. The key must also be the row identity (ReplacingMergeTree
-- replaces by ORDER BY), and a session's start_ts can change when late events
-- recompute it, so start_ts cannot be in the key: time windows are served by
-- minmax skip indexes instead. No PARTITION BY on the facts for the same
-- reason: replacing only works within a partition.

CREATE TABLE IF NOT EXISTS events_raw (
    org_id LowCardinality(String),
    product_id LowCardinality(String),
    session_id String,
    event_id String,
    user_hash String,
    ts DateTime64(3, 'UTC'),
    event_type LowCardinality(String),
    screen_id LowCardinality(String),
    route String,
    device_type LowCardinality(String),
    app_name LowCardinality(Nullable(String)),
    element_type LowCardinality(Nullable(String)),
    element_label_hash Nullable(String),
    error_code LowCardinality(Nullable(String)),
    os LowCardinality(Nullable(String)),
    browser LowCardinality(Nullable(String)),
    latency_ms Nullable(Float64),
    extra Nullable(String),
    received_at Nullable(DateTime64(3, 'UTC')),
    agent_id LowCardinality(Nullable(String)),
    sdk_version LowCardinality(Nullable(String)),
    INDEX ts_minmax ts TYPE minmax GRANULARITY 4
) ENGINE = ReplacingMergeTree
-- Exactly once per event id within its session (docs/stores.md): the key is the
-- event's identity, and it is also what load_history reads by.
-- Partitioned by month of ts for retention (DROP PARTITION). Replacing works
-- within a partition; a retried event keeps its ts (unless its clock-skew
-- correction differs across a month boundary), and insert_events checks the
-- stored ids before inserting anyway.
PARTITION BY toYYYYMM(ts)
ORDER BY (org_id, product_id, session_id, event_id);

CREATE TABLE IF NOT EXISTS fact_sessions (
    org_id LowCardinality(String),
    product_id LowCardinality(String),
    session_id String,
    client_session_id String,
    user_hash String,
    start_ts DateTime64(3, 'UTC'),
    end_ts DateTime64(3, 'UTC'),
    duration_ms Int64,
    event_count UInt32,
    click_count UInt32,
    screen_views UInt32,
    unique_screens UInt32,
    rage_clicks UInt32,
    backtracks UInt32,
    context_switches UInt32,
    tasks_started UInt32,
    tasks_completed UInt32,
    tasks_failed UInt32,
    tasks_abandoned UInt32,
    error_events UInt32,
    error_clicks UInt32,
    frustration_score Float64,
    efficiency_score Float64,
    entry_screen LowCardinality(String),
    exit_screen LowCardinality(String),
    device_type LowCardinality(String),
    version UInt64,
    INDEX start_minmax start_ts TYPE minmax GRANULARITY 4
) ENGINE = ReplacingMergeTree(version)
-- One row per session; a recomputation with more events has a higher version
-- (the session's event count) and wins, whatever order the writes arrive in.
ORDER BY (org_id, product_id, session_id);

-- Child rows of a session carry the session's version. A recomputation can
-- drop a child (a late `complete` un-abandons a task, so the incident goes);
-- the stale row stays in the table with the old version, and readers only
-- count children whose version equals their session's current version.
-- DuckDB deletes them on rewrite instead, so its fact_incidents has no version.
CREATE TABLE IF NOT EXISTS fact_incidents (
    incident_id String,
    org_id LowCardinality(String),
    product_id LowCardinality(String),
    session_id String,
    incident_type LowCardinality(String),
    screen_id LowCardinality(String),
    route String,
    ts DateTime64(3, 'UTC'),
    end_ts DateTime64(3, 'UTC'),
    first_event_id String,
    click_count UInt32,
    duration_ms Int64,
    task_name LowCardinality(Nullable(String)),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (org_id, product_id, session_id, incident_id);

CREATE TABLE IF NOT EXISTS fact_session_screens (
    org_id LowCardinality(String),
    product_id LowCardinality(String),
    session_id String,
    screen_id LowCardinality(String),
    route String,
    session_start_ts DateTime64(3, 'UTC'),
    events UInt32,
    views UInt32,
    dwell_ms Int64,
    clicks UInt32,
    errors UInt32,
    rage_clicks UInt32,
    backtracks UInt32,
    abandoned_tasks UInt32,
    error_clicks UInt32,
    frustration_score Float64,
    efficiency_score Float64,
    version UInt64,
    INDEX start_minmax session_start_ts TYPE minmax GRANULARITY 4
) ENGINE = ReplacingMergeTree(version)
ORDER BY (org_id, product_id, session_id, screen_id);

CREATE TABLE IF NOT EXISTS fact_task_runs (
    org_id LowCardinality(String),
    product_id LowCardinality(String),
    session_id String,
    task_name LowCardinality(Nullable(String)),
    run_index UInt32,
    start_ts DateTime64(3, 'UTC'),
    end_ts DateTime64(3, 'UTC'),
    duration_ms Int64,
    outcome LowCardinality(String),
    path Array(LowCardinality(String)),
    path_ts_ms Array(Int64),
    session_start_ts DateTime64(3, 'UTC'),
    frustration_score Float64,
    version UInt64,
    INDEX start_minmax session_start_ts TYPE minmax GRANULARITY 4
) ENGINE = ReplacingMergeTree(version)
-- run_index, not task_name, identifies a run within its session (a session can
-- run the same task twice, and task_name is NULL for session flows).
ORDER BY (org_id, product_id, session_id, run_index);
