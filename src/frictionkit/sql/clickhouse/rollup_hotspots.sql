-- fact_screen_hotspots for one day ({day}, sessions started in [from_ms, to_ms)):
-- additive counters per org/product/screen; the caller dropped the day's
-- partition first. Screen rows at their session's current version only.
INSERT INTO fact_screen_hotspots (day, org_id, product_id, screen_id, sessions, impact_sessions, rage_sessions,
    dropoff_sessions, views, dwell_ms, clicks, errors, rage_clicks, backtracks, abandoned_tasks, error_clicks,
    loops, dead_clicks, dead_click_sessions, frustration_sum, efficiency_sum)
SELECT
    {day:Date}, org_id, product_id, screen_id,
    count(),
    countIf(rage_clicks + backtracks + abandoned_tasks + error_clicks + loops + dead_clicks + errors > 0),
    countIf(rage_clicks > 0),
    countIf(abandoned_tasks > 0),
    sum(views), sum(dwell_ms), sum(clicks), sum(errors), sum(rage_clicks), sum(backtracks), sum(abandoned_tasks),
    sum(error_clicks), sum(loops), sum(dead_clicks), countIf(dead_clicks > 0),
    sum(frustration_score), sum(efficiency_score)
FROM fact_session_screens FINAL
WHERE session_start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND session_start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
  AND (org_id, product_id, session_id, version) IN (
      SELECT org_id, product_id, session_id, version FROM fact_sessions FINAL
      WHERE start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
        AND start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC'))
GROUP BY org_id, product_id, screen_id
