-- Session totals for one org/product and a [from, to) window of session start.
-- FINAL: a session written twice (replay, retry) before a merge counts once.
SELECT
    count()                      AS sessions,
    uniqExact(user_hash)         AS users,
    sum(frustration_score)       AS frustration_sum,
    sum(efficiency_score)        AS efficiency_sum,
    sum(rage_clicks)             AS rage_clicks,
    sum(backtracks)              AS backtracks,
    sum(tasks_abandoned)         AS tasks_abandoned,
    sum(error_clicks)            AS error_clicks,
    sum(loops)                   AS loops,
    sum(dead_clicks)             AS dead_clicks,
    sum(tasks_started)           AS tasks_started,
    sum(tasks_completed)         AS tasks_completed,
    sum(tasks_failed)            AS tasks_failed
FROM fact_sessions FINAL
WHERE org_id = {org:String} AND product_id = {product:String}
  AND start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
  -- the segment (core/segment.py): store/base.py fill_segment puts one
  -- `AND <column> = <bound value>` here per filter set, nothing for all sessions
  /* segment */
