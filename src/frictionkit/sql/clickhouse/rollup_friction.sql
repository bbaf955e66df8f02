-- Candidate cells of mp_ux_friction_daily for one day; same definition as
-- sql/duckdb/rollup_friction.sql (quantileExactInclusive interpolates like
-- DuckDB's quantile_cont). The k / min_sessions rule is applied by the caller.
WITH runs AS (
    SELECT r.org_id AS org_id, r.product_id AS product_id, r.session_id AS session_id, r.run_index AS run_index,
           assumeNotNull(r.task_name) AS task_name, r.start_ts AS start_ts, r.end_ts AS end_ts,
           r.duration_ms AS duration_ms, r.frustration_score AS frustration_score,
           s.client_session_id AS client_session_id
    FROM (SELECT * FROM fact_task_runs FINAL
          WHERE task_name IS NOT NULL
            AND session_start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
            AND session_start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')) AS r
    INNER JOIN (SELECT org_id, product_id, session_id, client_session_id, version FROM fact_sessions FINAL
                WHERE start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
                  AND start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')) AS s
      ON r.org_id = s.org_id AND r.product_id = s.product_id AND r.session_id = s.session_id AND r.version = s.version
),
run_clicks AS (
    SELECT runs.org_id AS org_id, runs.product_id AS product_id, runs.session_id AS session_id,
           runs.run_index AS run_index, any(runs.task_name) AS task_name, any(runs.duration_ms) AS duration_ms,
           any(runs.frustration_score) AS frustration_score,
           countIf(e.ts >= runs.start_ts AND e.ts <= runs.end_ts) AS clicks
    FROM runs
    LEFT JOIN (SELECT org_id, product_id, session_id, ts FROM events_raw FINAL
               WHERE event_type = 'click'
                 -- a session lasts at most 24 h: its events end before the next day is over
                 AND ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
                 AND ts < fromUnixTimestamp64Milli({to_ms:Int64} + 86400000, 'UTC')) AS e
      ON e.org_id = runs.org_id AND e.product_id = runs.product_id AND e.session_id = runs.client_session_id
    GROUP BY runs.org_id, runs.product_id, runs.session_id, runs.run_index
)
SELECT
    task_name                                                  AS task_type,
    quantileExactInclusive(0.5)(toFloat64(clicks))             AS median_clicks,
    quantileExactInclusive(0.5)(toFloat64(duration_ms))        AS median_duration_ms,
    avg(frustration_score)                                     AS mean_frustration,
    quantileExactInclusive(0.9)(frustration_score)             AS p90_frustration,
    uniqExact(org_id, product_id, session_id)                  AS sample_sessions,
    uniqExact(org_id)                                          AS org_count
FROM run_clicks
GROUP BY task_name
ORDER BY task_type
