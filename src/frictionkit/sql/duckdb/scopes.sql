-- Every org/product with sessions, and the span of their session starts.
SELECT org_id, product_id, count(*) AS sessions,
       epoch_ms(min(start_ts)) AS first_start_ms, epoch_ms(max(start_ts)) AS last_start_ms
FROM fact_sessions
GROUP BY org_id, product_id
ORDER BY org_id, product_id
