-- One page of sessions, newest start first (twin of sql/duckdb/sessions_page.sql).
-- {after_*} is the keyset cursor; NULL for the first page or offset paging.
SELECT session_id, client_session_id, user_hash, toUnixTimestamp64Milli(start_ts) AS start_ts_ms,
       toUnixTimestamp64Milli(end_ts) AS end_ts_ms, duration_ms, event_count, click_count, screen_views, unique_screens,
       rage_clicks, backtracks, context_switches, tasks_started, tasks_completed, tasks_failed, tasks_abandoned,
       error_events, error_clicks, loops, dead_clicks, frustration_score, efficiency_score, entry_screen, exit_screen, device_type,
       browser, os, app_name, app_version
FROM fact_sessions FINAL
WHERE org_id = {org:String} AND product_id = {product:String}
  AND start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
  AND ({user_hash:Nullable(String)} IS NULL OR user_hash = {user_hash:Nullable(String)})
  AND ({min_frustration:Nullable(Float64)} IS NULL OR frustration_score >= {min_frustration:Nullable(Float64)})
  AND ({screen_id:Nullable(String)} IS NULL OR session_id IN (
       SELECT session_id FROM fact_session_screens
       WHERE org_id = {org:String} AND product_id = {product:String} AND screen_id = {screen_id:Nullable(String)}))
  -- the segment (core/segment.py): store/base.py fill_segment puts one
  -- `AND <column> = <bound value>` here per filter set, nothing for all sessions
  /* segment */
  AND ({after_ts_ms:Nullable(Int64)} IS NULL
       OR toUnixTimestamp64Milli(start_ts) < {after_ts_ms:Nullable(Int64)}
       OR (toUnixTimestamp64Milli(start_ts) = {after_ts_ms:Nullable(Int64)} AND session_id < {after_session:Nullable(String)}))
ORDER BY start_ts DESC, session_id DESC
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
