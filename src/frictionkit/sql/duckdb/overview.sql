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
    coalesce(sum(tasks_started), 0)       AS tasks_started,
    coalesce(sum(tasks_completed), 0)     AS tasks_completed,
    coalesce(sum(tasks_failed), 0)        AS tasks_failed
FROM fact_sessions
WHERE org_id = $org AND product_id = $product
  AND start_ts >= make_timestamp($from_ms * 1000) AND start_ts < make_timestamp($to_ms * 1000)
  -- the segment (core/segment.py): NULL means any value
  AND ($seg_device_type IS NULL OR device_type = $seg_device_type)
  AND ($seg_browser IS NULL OR browser = $seg_browser)
  AND ($seg_os IS NULL OR os = $seg_os)
  AND ($seg_app_name IS NULL OR app_name = $seg_app_name)
  AND ($seg_app_version IS NULL OR app_version = $seg_app_version)
