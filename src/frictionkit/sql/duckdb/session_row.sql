-- One session by its id (client id, or client id#n).
SELECT session_id, client_session_id, user_hash, epoch_ms(start_ts) AS start_ts_ms, epoch_ms(end_ts) AS end_ts_ms,
       duration_ms, event_count, click_count, screen_views, unique_screens, rage_clicks, backtracks, context_switches,
       tasks_started, tasks_completed, tasks_failed, tasks_abandoned, error_events, error_clicks, loops, dead_clicks, frustration_score,
       efficiency_score, entry_screen, exit_screen, device_type,
       browser, os, app_name, app_version
FROM fact_sessions
WHERE org_id = $org AND product_id = $product AND session_id = $session
