-- Session totals for one org/product and a [from, to) window of session start.
SELECT
    count(*)                              AS sessions,
    count(DISTINCT user_hash)             AS users,
    coalesce(sum(frustration_score), 0)   AS frustration_sum,
    coalesce(sum(efficiency_score), 0)    AS efficiency_sum,
    coalesce(sum(rage_clicks), 0)         AS rage_clicks,
    coalesce(sum(backtracks), 0)          AS backtracks,
    coalesce(sum(tasks_abandoned), 0)     AS tasks_abandoned,
    coalesce(sum(error_clicks), 0)        AS error_clicks,
    coalesce(sum(loops), 0)               AS loops,
    coalesce(sum(dead_clicks), 0)         AS dead_clicks,
    coalesce(sum(tasks_started), 0)       AS tasks_started,
    coalesce(sum(tasks_completed), 0)     AS tasks_completed,
    coalesce(sum(tasks_failed), 0)        AS tasks_failed
FROM fact_sessions
WHERE org_id = $org AND product_id = $product
  AND start_ts >= make_timestamp($from_ms * 1000) AND start_ts < make_timestamp($to_ms * 1000)
  -- the segment (core/segment.py): store/base.py fill_segment puts one
  -- `AND <column> = <bound value>` here per filter set, nothing for all sessions
  /* segment */
