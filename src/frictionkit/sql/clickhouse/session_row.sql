-- One session by its id, with its version (its incidents are read at that version).
SELECT session_id, client_session_id, user_hash, toUnixTimestamp64Milli(start_ts) AS start_ts_ms,
       toUnixTimestamp64Milli(end_ts) AS end_ts_ms, duration_ms, event_count, click_count, screen_views, unique_screens,
       rage_clicks, backtracks, context_switches, tasks_started, tasks_completed, tasks_failed, tasks_abandoned,
       error_events, error_clicks, loops, dead_clicks, frustration_score, efficiency_score, entry_screen, exit_screen, device_type,
       browser, os, app_name, app_version, version
FROM fact_sessions FINAL
WHERE org_id = {org:String} AND product_id = {product:String} AND session_id = {session:String}
