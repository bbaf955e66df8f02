-- Session keys whose latest stored event is not covered by a stored session:
-- sessions still open when the server stopped (see api.sinks.EmbeddedSink).
SELECT e.org_id, e.product_id, e.session_id
FROM (SELECT org_id, product_id, session_id, max(ts) AS last_ts FROM events_raw GROUP BY org_id, product_id, session_id) e
LEFT JOIN (
    SELECT org_id, product_id, client_session_id AS session_id, max(end_ts) AS closed_ts
    FROM fact_sessions GROUP BY org_id, product_id, client_session_id
) s USING (org_id, product_id, session_id)
WHERE s.closed_ts IS NULL OR e.last_ts > s.closed_ts
ORDER BY e.org_id, e.product_id, e.session_id
