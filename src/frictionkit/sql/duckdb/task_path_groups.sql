-- Task runs of sessions started in the window, one row per (task, raw path);
-- twin of sql/clickhouse/task_path_groups.sql (see there for why durations and
-- friction stay per run). $task NULL means every task.
SELECT task_name, path, count(*) AS runs,
       count(*) FILTER (WHERE outcome = 'completed') AS completed,
       count(*) FILTER (WHERE outcome IN ('abandoned', 'failed')) AS dropped,
       list(duration_ms) AS durations_ms,
       list(frustration_score) AS frustration_scores
FROM fact_task_runs
WHERE org_id = $org AND product_id = $product
  AND session_start_ts >= make_timestamp($from_ms * 1000) AND session_start_ts < make_timestamp($to_ms * 1000)
  AND ($task IS NULL OR task_name = $task)
  -- the segment (core/segment.py): store/base.py fill_segment puts one
  -- `AND <column> = <bound value>` here per filter set, nothing for all sessions
  /* segment */
GROUP BY task_name, path
-- No ORDER BY: core.flows ranks the merged groups itself.
