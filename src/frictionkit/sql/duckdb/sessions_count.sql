-- How many sessions match the filters of sessions_page.sql (without the cursor).
SELECT count(*) AS total
FROM fact_sessions
WHERE org_id = $org AND product_id = $product
  AND start_ts >= make_timestamp($from_ms * 1000) AND start_ts < make_timestamp($to_ms * 1000)
  AND ($user_hash IS NULL OR user_hash = $user_hash)
  AND ($min_frustration IS NULL OR frustration_score >= $min_frustration)
  AND ($screen_id IS NULL OR session_id IN (SELECT session_id FROM fact_session_screens
                                           WHERE org_id = $org AND product_id = $product AND screen_id = $screen_id))
  -- the segment (core/segment.py): store/base.py fill_segment puts one
  -- `AND <column> = <bound value>` here per filter set, nothing for all sessions
  /* segment */
