//! The sessionizer's splitting rule over columns: the semantics of
//! `core/sessionizer.py` when every event is buffered and then `close_all()`
//! runs (replay's end of input), with no Python object per event.
//!
//! Pure Rust and free of panics on any input, so `cargo test` covers it
//! without an interpreter and `lib.rs` only translates types and errors.

use hashbrown::HashSet;

/// Per input event, the 1-based sequence number of its session within its key
/// (`session_id_for`: 1 is the client id, n > 1 is `<id>#n`), or `None` for a
/// duplicate event id of its key (the first arrival is kept, as
/// `_KeyState.add` keeps it).
///
/// Splits where the gap to the previous event of the key is more than
/// `gap_ms`, or at an event at or after the session start + `max_length_ms`.
/// Differences are taken in i128 so that no i64 input can overflow: Python's
/// ints do not, and the answers must agree.
pub fn session_seqs(
    keys: &[i64],
    ts_ms: &[i64],
    event_ids: &[&str],
    gap_ms: i64,
    max_length_ms: i64,
) -> Result<Vec<Option<u64>>, String> {
    let n = keys.len();
    if ts_ms.len() != n || event_ids.len() != n {
        return Err(format!(
            "columns differ in length: keys {}, ts_ms {}, event_ids {}",
            n,
            ts_ms.len(),
            event_ids.len()
        ));
    }
    // First arrival of each (key, event id) wins; later ones are duplicates.
    let mut seen: HashSet<(i64, &str)> = HashSet::with_capacity(n);
    let mut kept: Vec<usize> = Vec::with_capacity(n);
    for i in 0..n {
        if seen.insert((keys[i], event_ids[i])) {
            kept.push(i);
        }
    }
    // (key, ts, id) is unique among kept events, so an unstable sort is exact.
    kept.sort_unstable_by(|&a, &b| {
        (keys[a], ts_ms[a], event_ids[a]).cmp(&(keys[b], ts_ms[b], event_ids[b]))
    });

    let (gap, max_len) = (gap_ms as i128, max_length_ms as i128);
    let mut out: Vec<Option<u64>> = vec![None; n];
    let mut prev_key: Option<i64> = None;
    let (mut seq, mut start, mut prev) = (0u64, 0i128, 0i128);
    for &i in &kept {
        let ts = ts_ms[i] as i128;
        if prev_key != Some(keys[i]) {
            prev_key = Some(keys[i]);
            seq = 1;
            start = ts;
        } else if ts - prev > gap || ts - start >= max_len {
            seq += 1;
            start = ts;
        }
        prev = ts;
        out[i] = Some(seq);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::session_seqs;

    const GAP: i64 = 30 * 60_000;
    const DAY: i64 = 24 * 3_600_000;

    fn seqs(keys: &[i64], ts: &[i64], ids: &[&str]) -> Vec<Option<u64>> {
        session_seqs(keys, ts, ids, GAP, DAY).unwrap()
    }

    #[test]
    fn a_gap_of_exactly_gap_ms_does_not_split() {
        assert_eq!(
            seqs(&[0, 0], &[0, GAP], &["a", "b"]),
            vec![Some(1), Some(1)]
        );
    }

    #[test]
    fn a_gap_of_gap_ms_plus_one_splits() {
        assert_eq!(
            seqs(&[0, 0], &[0, GAP + 1], &["a", "b"]),
            vec![Some(1), Some(2)]
        );
    }

    #[test]
    fn an_event_at_start_plus_max_length_starts_a_new_session() {
        // Events every 20 min never exceed the gap; the 24 h cut splits anyway.
        let ts: Vec<i64> = (0..=72).map(|i| i * 20 * 60_000).collect();
        let ids: Vec<String> = (0..ts.len()).map(|i| format!("e{i:03}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let out = seqs(&vec![0; ts.len()], &ts, &ids);
        assert_eq!(out[71], Some(1)); // 23 h 40 min after the start
        assert_eq!(out[72], Some(2)); // exactly 24 h after it
                                      // One millisecond before the cut still joins the first session.
        let mut ts_before = ts[..72].to_vec();
        ts_before.push(DAY - 1);
        let out = seqs(&vec![0; ts_before.len()], &ts_before, &ids[..73]);
        assert_eq!(out[72], Some(1));
    }

    #[test]
    fn a_duplicate_id_within_a_key_is_dropped_and_the_first_arrival_kept() {
        // The later copy of "a" is dropped even though it sorts first, so the
        // first copy's timestamp decides the split.
        let out = seqs(&[0, 0, 0], &[GAP + 1, 0, 2 * GAP + 1], &["a", "a", "b"]);
        assert_eq!(out, vec![Some(1), None, Some(1)]);
    }

    #[test]
    fn the_same_id_under_another_key_is_not_a_duplicate() {
        assert_eq!(seqs(&[0, 1], &[0, 0], &["a", "a"]), vec![Some(1), Some(1)]);
    }

    #[test]
    fn input_order_does_not_matter_and_keys_number_independently() {
        let out = seqs(
            &[1, 0, 1, 0],
            &[5 * GAP, 4 * GAP, 0, 0],
            &["y", "b", "x", "a"],
        );
        assert_eq!(out, vec![Some(2), Some(2), Some(1), Some(1)]);
    }

    #[test]
    fn equal_timestamps_order_by_event_id_and_extreme_values_do_not_overflow() {
        let out = session_seqs(
            &[0, 0, 0],
            &[i64::MAX, i64::MIN, i64::MAX],
            &["b", "c", "a"],
            GAP,
            DAY,
        );
        assert_eq!(out.unwrap(), vec![Some(2), Some(1), Some(2)]);
    }

    #[test]
    fn columns_of_different_lengths_are_an_error_not_a_panic() {
        let err = session_seqs(&[0], &[0, 1], &["a"], GAP, DAY).unwrap_err();
        assert!(err.contains("differ in length"), "{err}");
    }
}
