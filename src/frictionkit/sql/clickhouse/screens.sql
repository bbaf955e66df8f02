-- Per-screen sums for one org/product and window; rates and means are derived
-- in Python from these sums so both stores divide the same way.
-- Only screen rows at their session's current version count: a recomputed
-- session may no longer touch a screen it touched before (see 001_schema.sql).
SELECT
    screen_id,
    min(route)                                                              AS route,
    count()                                                                 AS sessions,
    countIf(rage_clicks + backtracks + abandoned_tasks + error_clicks + loops + dead_clicks + errors > 0) AS impact_sessions,
    sum(frustration_score)                                                  AS frustration_sum,
    sum(efficiency_score)                                                   AS efficiency_sum,
    countIf(rage_clicks > 0)                                                AS rage_sessions,
    countIf(abandoned_tasks > 0)                                            AS dropoff_sessions,
    sum(dwell_ms)                                                           AS dwell_ms,
    sum(views)                                                              AS views,
    sum(rage_clicks)                                                        AS rage_clicks,
    sum(backtracks)                                                         AS backtracks,
    sum(errors)                                                             AS errors,
    sum(abandoned_tasks)                                                    AS abandoned_tasks,
    sum(error_clicks)                                                       AS error_clicks,
    sum(loops)                                                              AS loops,
    sum(dead_clicks)                                                        AS dead_clicks,
    countIf(dead_clicks > 0)                                                AS dead_click_sessions
FROM fact_session_screens FINAL
WHERE org_id = {org:String} AND product_id = {product:String}
  AND session_start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND session_start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
  -- the segment (core/segment.py): store/base.py fill_segment puts one
  -- `AND <column> = <bound value>` here per filter set, nothing for all sessions
  /* segment */
  AND (session_id, version) IN (
      SELECT session_id, version FROM fact_sessions FINAL
      WHERE org_id = {org:String} AND product_id = {product:String}
        AND start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
        AND start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC'))
GROUP BY screen_id
