-- Sessions with each share signal on each screen, in long form (screen_id,
-- signal, affected); twin of sql/duckdb/changes_signals.sql (which says what
-- each signal is). Rows at their session's current version only, of the
-- sessions in the segment (the slot in `live`, store/base.py fill_segment).
WITH live AS (
    SELECT session_id, version FROM fact_sessions FINAL
    WHERE org_id = {org:String} AND product_id = {product:String}
      AND start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
      AND start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
      /* segment */)
SELECT toString(screen_id) AS screen_id, toString(incident_type) AS signal, uniqExact(session_id) AS affected
FROM fact_incidents FINAL
WHERE org_id = {org:String} AND product_id = {product:String}
  AND (session_id, version) IN (SELECT session_id, version FROM live)
GROUP BY screen_id, incident_type
UNION ALL
SELECT toString(screen_id) AS screen_id, 'error' AS signal, count() AS affected
FROM fact_session_screens FINAL
WHERE org_id = {org:String} AND product_id = {product:String} AND errors > 0
  AND session_start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND session_start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
  AND (session_id, version) IN (SELECT session_id, version FROM live)
GROUP BY screen_id
UNION ALL
SELECT toString(path[-1]) AS screen_id, 'dropoff' AS signal, uniqExact(session_id) AS affected
FROM fact_task_runs FINAL
WHERE org_id = {org:String} AND product_id = {product:String} AND outcome IN ('abandoned', 'failed')
  AND length(path) > 0
  AND session_start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND session_start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
  AND (session_id, version) IN (SELECT session_id, version FROM live)
GROUP BY path[-1]
