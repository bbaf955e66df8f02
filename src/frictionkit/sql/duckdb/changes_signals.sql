-- Sessions with each share signal on each screen, in long form (screen_id,
-- signal, affected), for "what changed" (insights/changes.py):
-- * every incident type stored, by the screen the incident is attributed to
--   (new types appear without a change here);
-- * 'error': sessions with an error event on the screen;
-- * 'dropoff': sessions with a task run that ended abandoned or failed on the
--   screen (the last screen of the run's path; flows' drop-off).
-- Each part keeps the sessions of the segment (/* segment */, store/base.py
-- fill_segment).
SELECT i.screen_id, i.incident_type AS signal, count(DISTINCT i.session_id) AS affected
FROM fact_incidents i
JOIN (SELECT org_id, product_id, session_id FROM fact_sessions
      WHERE org_id = $org AND product_id = $product
        AND start_ts >= make_timestamp($from_ms * 1000) AND start_ts < make_timestamp($to_ms * 1000)
        /* segment */) s USING (org_id, product_id, session_id)
GROUP BY i.screen_id, i.incident_type
UNION ALL
SELECT screen_id, 'error' AS signal, count(*) AS affected
FROM fact_session_screens
WHERE org_id = $org AND product_id = $product AND errors > 0
  AND session_start_ts >= make_timestamp($from_ms * 1000) AND session_start_ts < make_timestamp($to_ms * 1000)
  /* segment */
GROUP BY screen_id
UNION ALL
SELECT path[len(path)] AS screen_id, 'dropoff' AS signal, count(DISTINCT session_id) AS affected
FROM fact_task_runs
WHERE org_id = $org AND product_id = $product AND outcome IN ('abandoned', 'failed') AND len(path) > 0
  AND session_start_ts >= make_timestamp($from_ms * 1000) AND session_start_ts < make_timestamp($to_ms * 1000)
  /* segment */
GROUP BY path[len(path)]
