-- How many sessions match the filters of sessions_page.sql (without the cursor).
SELECT count() AS total
FROM fact_sessions FINAL
WHERE org_id = {org:String} AND product_id = {product:String}
  AND start_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND start_ts < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
  AND ({user_hash:Nullable(String)} IS NULL OR user_hash = {user_hash:Nullable(String)})
  AND ({min_frustration:Nullable(Float64)} IS NULL OR frustration_score >= {min_frustration:Nullable(Float64)})
  AND ({screen_id:Nullable(String)} IS NULL OR session_id IN (
       SELECT session_id FROM fact_session_screens
       WHERE org_id = {org:String} AND product_id = {product:String} AND screen_id = {screen_id:Nullable(String)}))
  -- the segment (core/segment.py): store/base.py fill_segment puts one
  -- `AND <column> = <bound value>` here per filter set, nothing for all sessions
  /* segment */
