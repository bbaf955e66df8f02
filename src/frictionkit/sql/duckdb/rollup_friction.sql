-- Candidate cells of mp_ux_friction_daily for one day: one per task type over
-- every org, from the task runs of sessions started in [$from_ms, $to_ms).
-- The unit is a task run; its clicks are the click events of its session
-- between the run's start and end. The k-orgs / min-sessions rule is applied
-- by the caller (store/rollup.py), the same for both stores.
WITH runs AS (
    SELECT r.org_id, r.product_id, r.session_id, r.run_index, r.task_name, r.start_ts, r.end_ts, r.duration_ms,
           r.frustration_score, s.client_session_id
    FROM fact_task_runs r
    JOIN fact_sessions s USING (org_id, product_id, session_id)
    WHERE r.task_name IS NOT NULL
      AND r.session_start_ts >= make_timestamp($from_ms * 1000) AND r.session_start_ts < make_timestamp($to_ms * 1000)
),
run_clicks AS (
    SELECT runs.org_id, runs.product_id, runs.session_id, runs.run_index,
           count(e.ts) FILTER (WHERE e.ts BETWEEN runs.start_ts AND runs.end_ts) AS clicks
    FROM runs
    LEFT JOIN events_raw e
      ON e.org_id = runs.org_id AND e.product_id = runs.product_id AND e.session_id = runs.client_session_id
     AND e.event_type = 'click'
     -- a session lasts at most 24 h: its events end before the next day is over
     AND e.ts >= make_timestamp($from_ms * 1000) AND e.ts < make_timestamp(($to_ms + 86400000) * 1000)
    GROUP BY runs.org_id, runs.product_id, runs.session_id, runs.run_index
)
SELECT
    runs.task_name                                                   AS task_type,
    quantile_cont(CAST(c.clicks AS DOUBLE), 0.5)                     AS median_clicks,
    quantile_cont(CAST(runs.duration_ms AS DOUBLE), 0.5)             AS median_duration_ms,
    avg(runs.frustration_score)                                      AS mean_frustration,
    quantile_cont(runs.frustration_score, 0.9)                       AS p90_frustration,
    count(DISTINCT (runs.org_id, runs.product_id, runs.session_id))  AS sample_sessions,
    count(DISTINCT runs.org_id)                                      AS org_count
FROM runs JOIN run_clicks c USING (org_id, product_id, session_id, run_index)
GROUP BY runs.task_name
ORDER BY task_type
