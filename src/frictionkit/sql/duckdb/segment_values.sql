-- The segments of one org/product's sessions and how many sessions each has
-- (the dashboard's filter menus); twin of sql/clickhouse/segment_values.sql.
SELECT device_type, browser, os, app_name, app_version, count(*) AS sessions
FROM fact_sessions
WHERE org_id = $org AND product_id = $product
GROUP BY device_type, browser, os, app_name, app_version
