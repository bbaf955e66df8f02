-- Per screen, the sessions "what changed" divides by (insights/changes.py):
-- sessions with any event on the screen, and the dwell per session of those
-- that viewed it (views > 0), as mean and sample variance for Welch's test
-- (varSampStable: the one-pass varSamp loses precision on large dwell values).
-- Rows at their session's current version only (see 001_schema.sql).
SELECT
    screen_id,
    min(route)                                        AS route,
    count()                                           AS sessions,
    countIf(views > 0)                                AS dwell_sessions,
    avgIf(dwell_ms, views > 0)                        AS dwell_mean_ms,
    varSampStableIf(dwell_ms, views > 0)              AS dwell_var_ms2
FROM fact_session_screens FINAL
WHERE org_id = {org:String} AND product_id = {product:String}
  AND session_start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND session_start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
  AND (session_id, version) IN (
      SELECT session_id, version FROM fact_sessions FINAL
      WHERE org_id = {org:String} AND product_id = {product:String}
        AND start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
        AND start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
        /* segment */)
GROUP BY screen_id
