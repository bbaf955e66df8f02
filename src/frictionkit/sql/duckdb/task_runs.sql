-- Task runs of sessions started in the window; $task NULL means every task.
-- $with_times false leaves the arrival times out (top flows does not need them).
SELECT org_id, product_id, session_id, task_name, run_index,
       epoch_ms(start_ts) AS start_ts_ms, epoch_ms(end_ts) AS end_ts_ms, duration_ms, outcome,
       path, CASE WHEN $with_times THEN path_ts_ms ELSE []::BIGINT[] END AS path_ts_ms, epoch_ms(session_start_ts) AS session_start_ts_ms, frustration_score, version
FROM fact_task_runs
WHERE org_id = $org AND product_id = $product
  AND session_start_ts >= make_timestamp($from_ms * 1000) AND session_start_ts < make_timestamp($to_ms * 1000)
  AND ($task IS NULL OR task_name = $task)
  -- the segment (core/segment.py): NULL means any value
  AND ($seg_device_type IS NULL OR device_type = $seg_device_type)
  AND ($seg_browser IS NULL OR browser = $seg_browser)
  AND ($seg_os IS NULL OR os = $seg_os)
  AND ($seg_app_name IS NULL OR app_name = $seg_app_name)
  AND ($seg_app_version IS NULL OR app_version = $seg_app_version)
-- No ORDER BY: flows are independent of row order (medians sort, sums are exact).
