-- Segments (core/segment.py): a session's device type, browser, OS, app and app
-- version, its first event's values, on every fact row of the session so that
-- each view filters its own table. fact_sessions had device_type already.
-- Rows written before this migration hold NULL (unknown): they match no
-- segment filter until their sessions are recomputed (docs/stores.md).
-- A migration of its own, so that other column additions merge beside it.
ALTER TABLE fact_sessions ADD COLUMN IF NOT EXISTS browser VARCHAR;
ALTER TABLE fact_sessions ADD COLUMN IF NOT EXISTS os VARCHAR;
ALTER TABLE fact_sessions ADD COLUMN IF NOT EXISTS app_name VARCHAR;
ALTER TABLE fact_sessions ADD COLUMN IF NOT EXISTS app_version VARCHAR;

ALTER TABLE fact_session_screens ADD COLUMN IF NOT EXISTS device_type VARCHAR;
ALTER TABLE fact_session_screens ADD COLUMN IF NOT EXISTS browser VARCHAR;
ALTER TABLE fact_session_screens ADD COLUMN IF NOT EXISTS os VARCHAR;
ALTER TABLE fact_session_screens ADD COLUMN IF NOT EXISTS app_name VARCHAR;
ALTER TABLE fact_session_screens ADD COLUMN IF NOT EXISTS app_version VARCHAR;

ALTER TABLE fact_task_runs ADD COLUMN IF NOT EXISTS device_type VARCHAR;
ALTER TABLE fact_task_runs ADD COLUMN IF NOT EXISTS browser VARCHAR;
ALTER TABLE fact_task_runs ADD COLUMN IF NOT EXISTS os VARCHAR;
ALTER TABLE fact_task_runs ADD COLUMN IF NOT EXISTS app_name VARCHAR;
ALTER TABLE fact_task_runs ADD COLUMN IF NOT EXISTS app_version VARCHAR;

ALTER TABLE fact_incidents ADD COLUMN IF NOT EXISTS device_type VARCHAR;
ALTER TABLE fact_incidents ADD COLUMN IF NOT EXISTS browser VARCHAR;
ALTER TABLE fact_incidents ADD COLUMN IF NOT EXISTS os VARCHAR;
ALTER TABLE fact_incidents ADD COLUMN IF NOT EXISTS app_name VARCHAR;
ALTER TABLE fact_incidents ADD COLUMN IF NOT EXISTS app_version VARCHAR;
