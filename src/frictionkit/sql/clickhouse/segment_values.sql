-- The segments of one org/product's sessions and how many sessions each has
-- (the dashboard's filter menus); twin of sql/duckdb/segment_values.sql.
SELECT device_type, browser, os, app_name, app_version, count() AS sessions
FROM fact_sessions FINAL
WHERE org_id = {org:String} AND product_id = {product:String}
GROUP BY device_type, browser, os, app_name, app_version
