-- Task runs of sessions started in the window, one row per (task, raw path):
-- top flows ranks by counts, so Python gets distinct paths instead of runs.
-- Durations and friction stay per run (groupArray) because the median and the
-- fsum mean must come out exactly as from the runs, and raw paths that clean
-- alike are merged in Python. Same filters and version rule as task_runs.sql;
-- {task} NULL means every task.
SELECT task_name, path, count() AS runs,
       countIf(outcome = 'completed') AS completed,
       countIf(outcome IN ('abandoned', 'failed')) AS dropped,
       groupArray(duration_ms) AS durations_ms,
       groupArray(frustration_score) AS frustration_scores
FROM fact_task_runs FINAL
WHERE org_id = {org:String} AND product_id = {product:String}
  AND session_start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND session_start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
  AND ({task:Nullable(String)} IS NULL OR task_name = {task:Nullable(String)})
  -- the segment (core/segment.py): store/base.py fill_segment puts one
  -- `AND <column> = <bound value>` here per filter set, nothing for all sessions
  /* segment */
  AND (session_id, version) IN (
      SELECT session_id, version FROM fact_sessions FINAL
      WHERE org_id = {org:String} AND product_id = {product:String}
        AND start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
        AND start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC'))
GROUP BY task_name, path
-- No ORDER BY: core.flows ranks the merged groups itself.
