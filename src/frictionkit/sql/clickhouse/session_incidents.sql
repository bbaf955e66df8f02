-- One session's incidents at its current version, in time order.
SELECT incident_id, incident_type, screen_id, route, toUnixTimestamp64Milli(ts) AS ts_ms,
       toUnixTimestamp64Milli(end_ts) AS end_ts_ms, first_event_id, click_count, duration_ms, task_name
FROM fact_incidents FINAL
WHERE org_id = {org:String} AND product_id = {product:String} AND session_id = {session:String}
  AND version = {version:Int64}
ORDER BY ts, incident_id
