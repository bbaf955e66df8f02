-- Per screen, the sessions "what changed" divides by (insights/changes.py):
-- sessions with any event on the screen, and the dwell per session of those
-- that viewed it (views > 0), as mean and sample variance for Welch's test.
SELECT
    screen_id,
    min(route)                                        AS route,
    count(*)                                          AS sessions,
    count(*) FILTER (WHERE views > 0)                 AS dwell_sessions,
    avg(dwell_ms) FILTER (WHERE views > 0)            AS dwell_mean_ms,
    var_samp(dwell_ms) FILTER (WHERE views > 0)       AS dwell_var_ms2
FROM fact_session_screens
WHERE org_id = $org AND product_id = $product
  AND session_start_ts >= make_timestamp($from_ms * 1000) AND session_start_ts < make_timestamp($to_ms * 1000)
  /* segment */
GROUP BY screen_id
