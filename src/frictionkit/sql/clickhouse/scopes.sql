-- Every org/product with sessions, and the span of their session starts.
SELECT org_id, product_id, count() AS sessions,
       toUnixTimestamp64Milli(min(start_ts)) AS first_start_ms,
       toUnixTimestamp64Milli(max(start_ts)) AS last_start_ms
FROM fact_sessions FINAL
GROUP BY org_id, product_id
ORDER BY org_id, product_id
