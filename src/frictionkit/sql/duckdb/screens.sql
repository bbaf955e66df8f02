-- Per-screen sums for one org/product and window; rates and means are derived
-- in Python from these sums so both stores divide the same way.
SELECT
    screen_id,
    min(route)                                                         AS route,
    count(*)                                                           AS sessions,
    count(*) FILTER (WHERE rage_clicks + backtracks + abandoned_tasks + error_clicks + loops + dead_clicks + errors > 0) AS impact_sessions,
    sum(frustration_score)                                             AS frustration_sum,
    sum(efficiency_score)                                              AS efficiency_sum,
    count(*) FILTER (WHERE rage_clicks > 0)                            AS rage_sessions,
    count(*) FILTER (WHERE abandoned_tasks > 0)                        AS dropoff_sessions,
    sum(dwell_ms)                                                      AS dwell_ms,
    sum(views)                                                         AS views,
    sum(rage_clicks)                                                   AS rage_clicks,
    sum(backtracks)                                                    AS backtracks,
    sum(errors)                                                        AS errors,
    sum(abandoned_tasks)                                               AS abandoned_tasks,
    sum(error_clicks)                                                  AS error_clicks,
    sum(loops)                                                         AS loops,
    sum(dead_clicks)                                                   AS dead_clicks,
    count(*) FILTER (WHERE dead_clicks > 0)                            AS dead_click_sessions
FROM fact_session_screens
WHERE org_id = $org AND product_id = $product
  AND session_start_ts >= make_timestamp($from_ms * 1000) AND session_start_ts < make_timestamp($to_ms * 1000)
  -- the segment (core/segment.py): store/base.py fill_segment puts one
  -- `AND <column> = <bound value>` here per filter set, nothing for all sessions
  /* segment */
GROUP BY screen_id
