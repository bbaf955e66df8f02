use super::*;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn config() -> Config {
    Config { gap_ms: 30 * MIN, max_length_ms: 24 * HOUR, allowed_lateness_ms: 2 * MIN,
             key_retention_ms: 24 * HOUR, idle_after_ms: None }
}

fn feed(s: &mut Sessionizer<u32>, session: &str, ts_ms: i64, id: &str) -> Status {
    s.on_event(KeyRef("o", "p", session), ts_ms, id, None, || 0)
}

fn shape(closed: &[Closed<u32>]) -> Vec<(String, Vec<String>)> {
    closed
        .iter()
        .map(|c| (session_id_for(&c.key.session_id, c.seq), c.events.iter().map(|e| e.event_id.to_string()).collect()))
        .collect()
}

#[test]
fn a_gap_of_exactly_30_minutes_does_not_split_one_more_ms_does() {
    let mut s = Sessionizer::new(config());
    feed(&mut s, "a", 0, "1");
    feed(&mut s, "a", 30 * MIN, "2");
    feed(&mut s, "a", 60 * MIN + 1, "3");
    assert_eq!(shape(&s.close_all()), vec![("a".into(), vec!["1".into(), "2".into()]), ("a#2".into(), vec!["3".into()])]);
}

#[test]
fn the_24h_cut_starts_a_new_session_at_exactly_start_plus_24h() {
    let mut s = Sessionizer::new(config());
    let mut ts = 0;
    while ts < 24 * HOUR {
        feed(&mut s, "a", ts, &format!("{ts:012}"));
        ts += 20 * MIN;
    }
    feed(&mut s, "a", 24 * HOUR, "z");
    let closed = s.close_all();
    assert_eq!(closed.len(), 2);
    assert_eq!(closed[1].events[0].ts_ms, 24 * HOUR);
}

#[test]
fn out_of_order_events_are_sorted_and_duplicates_kept_once() {
    let mut s = Sessionizer::new(config());
    assert_eq!(feed(&mut s, "a", 10, "b"), Status::Accepted);
    assert_eq!(feed(&mut s, "a", 5, "c"), Status::Accepted);
    assert_eq!(feed(&mut s, "a", 10, "a"), Status::Accepted);
    assert_eq!(feed(&mut s, "a", 10, "b"), Status::Duplicate);
    assert_eq!(shape(&s.close_all()), vec![("a".into(), vec!["c".into(), "a".into(), "b".into()])]);
}

#[test]
fn a_session_closes_when_the_watermark_passes_its_gap_and_later_events_are_late() {
    let mut s = Sessionizer::new(config());
    feed(&mut s, "a", 0, "1");
    feed(&mut s, "b", 30 * MIN + 2 * MIN, "x"); // watermark: exactly 30 min
    assert!(s.advance(None, None).is_empty());
    feed(&mut s, "b", 30 * MIN + 2 * MIN + 1, "y"); // watermark 30 min + 1 ms
    let closed = s.advance(None, None);
    assert_eq!(shape(&closed), vec![("a".into(), vec!["1".into()])]);
    assert_eq!(feed(&mut s, "a", 10 * MIN, "2"), Status::Late);
    assert_eq!(feed(&mut s, "a", 0, "1"), Status::Late, "its id left the open set when it closed");
    assert_eq!(feed(&mut s, "a", 31 * MIN, "3"), Status::Accepted, "beyond the gap: a new session");
}

#[test]
fn the_idle_bound_closes_without_moving_the_watermark() {
    let mut s = Sessionizer::new(Config { idle_after_ms: Some(5_000), ..config() });
    s.on_event(KeyRef("o", "p", "a"), 0, "1", Some(1_000), || 0);
    assert!(s.advance(None, Some(5_999)).is_empty(), "not quiet yet");
    let closed = s.advance(None, Some(1_000 + 5_000 + 32 * MIN));
    assert_eq!(closed.len(), 1);
    assert_eq!(s.clock.watermark_ts_ms, Some(-2 * MIN));
    assert!(s.closed_until_ts_ms.unwrap() > 30 * MIN);
}

#[test]
fn a_key_is_kept_for_its_retention_then_forgotten() {
    let mut s = Sessionizer::new(config());
    feed(&mut s, "a", 0, "1");
    s.advance(Some(30 * MIN + 1), None);
    assert!(s.has_key(KeyRef("o", "p", "a")));
    s.advance(Some(30 * MIN + 24 * HOUR - 1), None);
    assert!(s.has_key(KeyRef("o", "p", "a")));
    s.advance(Some(30 * MIN + 24 * HOUR), None);
    assert!(!s.has_key(KeyRef("o", "p", "a")));
}

#[test]
fn close_all_goes_through_keys_in_arrival_order() {
    let mut s = Sessionizer::new(config());
    for key in ["m", "z", "a", "q"] {
        feed(&mut s, key, 0, "1");
    }
    let order: Vec<String> = s.close_all().iter().map(|c| c.key.session_id.to_string()).collect();
    assert_eq!(order, ["m", "z", "a", "q"]);
}

#[test]
fn extreme_timestamps_saturate_instead_of_overflowing() {
    let mut s = Sessionizer::new(config());
    feed(&mut s, "a", i64::MAX, "1");
    feed(&mut s, "a", i64::MIN, "2");
    s.advance(Some(i64::MAX), Some(i64::MIN));
    assert_eq!(s.close_all().len(), 0);
    feed(&mut s, "b", i64::MIN, "1");
    feed(&mut s, "b", i64::MAX, "2");
    assert_eq!(s.close_all().len(), 2);
}

#[test]
fn a_snapshot_restores_open_events_and_the_closed_marker() {
    let mut s = Sessionizer::new(config());
    feed(&mut s, "a", 0, "1");
    s.advance(Some(31 * MIN), None);
    feed(&mut s, "a", 40 * MIN, "2");
    let snap: Vec<_> = s
        .snapshot()
        .iter()
        .map(|k| (k.key.clone(), k.events.iter().map(|e| (e.ts_ms, e.event_id.to_string(), 0u32)).collect::<Vec<_>>(),
                  k.closed_count, k.closed_start_ts_ms, k.closed_last_ts_ms))
        .collect();
    let mut r: Sessionizer<u32> = Sessionizer::new(config());
    for (key, events, count, start, last) in snap {
        r.restore_key(KeyRef(&key.org_id, &key.product_id, &key.session_id), events, count, start, last);
    }
    assert_eq!(r.on_event(KeyRef("o", "p", "a"), 10, "3", None, || 0), Status::Late);
    assert_eq!(shape(&r.close_all()), vec![("a#2".into(), vec!["2".into()])]);
}
