-- fact_screen_hotspots for one day ($day, sessions started in [$from_ms, $to_ms)):
-- additive counters per org/product/screen; the caller deleted the day first.
INSERT INTO fact_screen_hotspots (day, org_id, product_id, screen_id, sessions, impact_sessions, rage_sessions,
    dropoff_sessions, views, dwell_ms, clicks, errors, rage_clicks, backtracks, abandoned_tasks, error_clicks,
    loops, dead_clicks, dead_click_sessions, frustration_sum, efficiency_sum)
SELECT
    CAST($day AS DATE), org_id, product_id, screen_id,
    count(*),
    count(*) FILTER (WHERE rage_clicks + backtracks + abandoned_tasks + error_clicks + loops + dead_clicks + errors > 0),
    count(*) FILTER (WHERE rage_clicks > 0),
    count(*) FILTER (WHERE abandoned_tasks > 0),
    sum(views), sum(dwell_ms), sum(clicks), sum(errors), sum(rage_clicks), sum(backtracks), sum(abandoned_tasks),
    sum(error_clicks), sum(loops), sum(dead_clicks), count(*) FILTER (WHERE dead_clicks > 0),
    sum(frustration_score), sum(efficiency_score)
FROM fact_session_screens
WHERE session_start_ts >= make_timestamp($from_ms * 1000) AND session_start_ts < make_timestamp($to_ms * 1000)
GROUP BY org_id, product_id, screen_id
