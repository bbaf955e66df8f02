-- Session keys whose latest stored event is not covered by a stored session
-- (twin of sql/duckdb/open_keys.sql). Without join_use_nulls a key with no
-- session joins closed_ts = 1970-01-01, which every event is later than.
SELECT e.org_id, e.product_id, e.session_id
FROM (SELECT org_id, product_id, session_id, max(ts) AS last_ts FROM events_raw GROUP BY org_id, product_id, session_id) AS e
LEFT JOIN (
    SELECT org_id, product_id, client_session_id AS session_id, max(end_ts) AS closed_ts
    FROM fact_sessions FINAL GROUP BY org_id, product_id, client_session_id
) AS s USING (org_id, product_id, session_id)
WHERE e.last_ts > s.closed_ts
ORDER BY e.org_id, e.product_id, e.session_id
