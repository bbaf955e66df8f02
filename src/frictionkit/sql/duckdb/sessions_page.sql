-- One page of sessions, newest start first. $after_* is the keyset cursor
-- (the last row of the previous page); NULL for the first page or offset paging.
SELECT session_id, client_session_id, user_hash, epoch_ms(start_ts) AS start_ts_ms, epoch_ms(end_ts) AS end_ts_ms,
       duration_ms, event_count, click_count, screen_views, unique_screens, rage_clicks, backtracks, context_switches,
       tasks_started, tasks_completed, tasks_failed, tasks_abandoned, error_events, error_clicks, loops, dead_clicks, frustration_score,
       efficiency_score, entry_screen, exit_screen, device_type,
       browser, os, app_name, app_version
FROM fact_sessions
WHERE org_id = $org AND product_id = $product
  AND start_ts >= make_timestamp($from_ms * 1000) AND start_ts < make_timestamp($to_ms * 1000)
  AND ($user_hash IS NULL OR user_hash = $user_hash)
  AND ($min_frustration IS NULL OR frustration_score >= $min_frustration)
  AND ($screen_id IS NULL OR session_id IN (SELECT session_id FROM fact_session_screens
                                           WHERE org_id = $org AND product_id = $product AND screen_id = $screen_id))
  -- the segment (core/segment.py): store/base.py fill_segment puts one
  -- `AND <column> = <bound value>` here per filter set, nothing for all sessions
  /* segment */
  AND ($after_ts_ms IS NULL
       OR start_ts < make_timestamp($after_ts_ms * 1000)
       OR (start_ts = make_timestamp($after_ts_ms * 1000) AND session_id < $after_session))
ORDER BY start_ts DESC, session_id DESC
LIMIT $limit OFFSET $offset
