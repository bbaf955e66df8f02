-- frictionkit ClickHouse schema, version 2: the daily rollups of `frictionkit rollup`.
-- Both are partitioned by day because a rollup run replaces one whole day
-- (DROP PARTITION, then INSERT): a rerun leaves exactly the same rows, and a
-- cell withheld on the rerun (thresholds raised) disappears.

CREATE TABLE IF NOT EXISTS fact_screen_hotspots (
    day Date,
    org_id LowCardinality(String),
    product_id LowCardinality(String),
    screen_id LowCardinality(String),
    sessions UInt64,
    impact_sessions UInt64,
    rage_sessions UInt64,
    dropoff_sessions UInt64,
    views UInt64,
    dwell_ms Int64,
    clicks UInt64,
    errors UInt64,
    rage_clicks UInt64,
    backtracks UInt64,
    abandoned_tasks UInt64,
    error_clicks UInt64,
    frustration_sum Float64,
    efficiency_sum Float64
) ENGINE = SummingMergeTree
-- Additive counters only (docs/stores.md): the seed's averages cannot be summed when
-- parts merge or days are combined; readers divide sums (avgFriction =
-- frustration_sum / sessions) over any span of days.
PARTITION BY day
-- Reads are a tenant's screens over a range of days.
ORDER BY (org_id, product_id, day, screen_id);

CREATE TABLE IF NOT EXISTS mp_ux_friction_daily (
    day Date,
    task_type LowCardinality(String),
    median_clicks Float64,
    median_duration_ms Float64,
    mean_frustration Float64,
    p90_frustration Float64,
    sample_sessions UInt64,
    org_count UInt64
) ENGINE = ReplacingMergeTree
PARTITION BY day
-- Cross-org benchmark: read per task type over a range of days.
ORDER BY (task_type, day);
