-- One session's incidents in time order.
SELECT incident_id, incident_type, screen_id, route, epoch_ms(ts) AS ts_ms, epoch_ms(end_ts) AS end_ts_ms,
       first_event_id, click_count, duration_ms, task_name
FROM fact_incidents
WHERE org_id = $org AND product_id = $product AND session_id = $session
ORDER BY ts, incident_id
