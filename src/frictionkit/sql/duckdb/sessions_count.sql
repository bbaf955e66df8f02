-- How many sessions match the filters of sessions_page.sql (without the cursor).
SELECT count(*) AS total
FROM fact_sessions
WHERE org_id = $org AND product_id = $product
  AND start_ts >= make_timestamp($from_ms * 1000) AND start_ts < make_timestamp($to_ms * 1000)
  AND ($user_hash IS NULL OR user_hash = $user_hash)
  AND ($min_frustration IS NULL OR frustration_score >= $min_frustration)
  AND ($screen_id IS NULL OR session_id IN (SELECT session_id FROM fact_session_screens
                                           WHERE org_id = $org AND product_id = $product AND screen_id = $screen_id))
  -- the segment (core/segment.py): NULL means any value
  AND ($seg_device_type IS NULL OR device_type = $seg_device_type)
  AND ($seg_browser IS NULL OR browser = $seg_browser)
  AND ($seg_os IS NULL OR os = $seg_os)
  AND ($seg_app_name IS NULL OR app_name = $seg_app_name)
  AND ($seg_app_version IS NULL OR app_version = $seg_app_version)
