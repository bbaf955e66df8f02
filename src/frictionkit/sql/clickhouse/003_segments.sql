-- Segments (core/segment.py), twin of sql/duckdb/002_segments.sql: a session's
-- device type, browser, OS, app and app version (its first event's values) on
-- every fact row of the session, so each view filters its own table without a
-- join. fact_sessions had device_type already. Rows written before this
-- migration hold NULL (unknown) until their sessions are recomputed.
-- A migration of its own, so that other column additions merge beside it;
-- one ALTER per table (store/ddl.py sends it to the local and Distributed tables).
ALTER TABLE fact_sessions
    ADD COLUMN IF NOT EXISTS browser LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS os LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS app_name LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS app_version LowCardinality(Nullable(String));

ALTER TABLE fact_session_screens
    ADD COLUMN IF NOT EXISTS device_type LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS browser LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS os LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS app_name LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS app_version LowCardinality(Nullable(String));

ALTER TABLE fact_task_runs
    ADD COLUMN IF NOT EXISTS device_type LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS browser LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS os LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS app_name LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS app_version LowCardinality(Nullable(String));

ALTER TABLE fact_incidents
    ADD COLUMN IF NOT EXISTS device_type LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS browser LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS os LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS app_name LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS app_version LowCardinality(Nullable(String));
