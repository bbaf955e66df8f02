-- Task runs of sessions started in the window; {task} NULL means every task.
-- {with_times} false leaves the arrival times out (top flows does not need them).
-- Runs at their session's current version only (see 001_schema.sql).
SELECT org_id, product_id, session_id, task_name, run_index,
       toUnixTimestamp64Milli(start_ts) AS start_ts_ms, toUnixTimestamp64Milli(end_ts) AS end_ts_ms,
       duration_ms, outcome, path, if({with_times:Bool}, path_ts_ms, CAST([] AS Array(Int64))) AS path_ts_ms,
       toUnixTimestamp64Milli(session_start_ts) AS session_start_ts_ms, frustration_score, version
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
-- No ORDER BY: flows are independent of row order (medians sort, sums are exact).
