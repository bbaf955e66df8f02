-- Task runs of sessions started in the window; $task NULL means every task.
-- $with_times false leaves the arrival times out (top flows does not need them).
SELECT org_id, product_id, session_id, task_name, run_index,
       epoch_ms(start_ts) AS start_ts_ms, epoch_ms(end_ts) AS end_ts_ms, duration_ms, outcome,
       path, CASE WHEN $with_times THEN path_ts_ms ELSE []::BIGINT[] END AS path_ts_ms, epoch_ms(session_start_ts) AS session_start_ts_ms, frustration_score, version
FROM fact_task_runs
WHERE org_id = $org AND product_id = $product
  AND session_start_ts >= make_timestamp($from_ms * 1000) AND session_start_ts < make_timestamp($to_ms * 1000)
  AND ($task IS NULL OR task_name = $task)
  -- the segment (core/segment.py): store/base.py fill_segment puts one
  -- `AND <column> = <bound value>` here per filter set, nothing for all sessions
  /* segment */
-- No ORDER BY: flows are independent of row order (medians sort, sums are exact).
