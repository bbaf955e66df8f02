//! The event-time sessionizer and its clock (docs/semantics.md, "Sessions"
//! and "Time"), held to the executable reference in
//! `tests/reference/sessionizer.py` and `tests/reference/clock.py` by
//! tests/test_native_sessionizer.py.
//!
//! Per key (org, product, client session id) the logic buffers open events.
//! The buffer splits into segments where consecutive events are more than
//! `gap_ms` apart or a segment reaches `max_length_ms`. A segment closes once
//! the clock passes its last event + `gap_ms` (or its start +
//! `max_length_ms`), so the result does not depend on arrival order within
//! the allowed lateness. An event that would fall into or before a session
//! already closed for its key is *late*: reported, not sessionized.
//!
//! Generic over the item carried per event (`T`): the Python binding keeps
//! the `Event` object itself, so a closed session hands back the very
//! objects it was given, and the cargo tests use plain numbers. Arithmetic
//! saturates: no timestamp, however odd, can make this panic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use hashbrown::{Equivalent, HashMap, HashSet};

pub const MAX_TS_MS: i64 = i64::MAX;

#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub gap_ms: i64,
    pub max_length_ms: i64,
    pub allowed_lateness_ms: i64,
    /// How long a key's closed-session marker is kept once nothing is open.
    pub key_retention_ms: i64,
    /// The clock's idle rule: None for replay, 0 for embedded serve.
    pub idle_after_ms: Option<i64>,
}

impl Config {
    /// The clock time at which a session spanning these times closes.
    pub fn deadline_ms(&self, first_ts_ms: i64, last_ts_ms: i64) -> i64 {
        last_ts_ms
            .saturating_add(self.gap_ms)
            .saturating_add(1)
            .min(first_ts_ms.saturating_add(self.max_length_ms))
    }
}

/// The one sense of time: watermark = latest event time - allowed lateness,
/// never going back; while the source is quiet for `idle_after_ms` of wall
/// time, an idle bound (not kept as the watermark) closes sessions too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    pub max_ts_ms: Option<i64>,
    pub last_arrival_ms: Option<i64>,
    pub watermark_ts_ms: Option<i64>,
}

impl Clock {
    pub fn on_event(&mut self, ts_ms: i64, now_ms: Option<i64>) {
        if self.max_ts_ms.is_none_or(|m| ts_ms > m) {
            self.max_ts_ms = Some(ts_ms);
        }
        if now_ms.is_some() {
            self.last_arrival_ms = now_ms;
        }
    }

    pub fn watermark(&mut self, lateness_ms: i64) -> Option<i64> {
        if let Some(max) = self.max_ts_ms {
            let wm = max.saturating_sub(lateness_ms);
            if self.watermark_ts_ms.is_none_or(|w| wm > w) {
                self.watermark_ts_ms = Some(wm);
            }
        }
        self.watermark_ts_ms
    }

    pub fn advance_to(&mut self, watermark_ts_ms: i64) -> i64 {
        if self.watermark_ts_ms.is_none_or(|w| watermark_ts_ms > w) {
            self.watermark_ts_ms = Some(watermark_ts_ms);
        }
        self.watermark_ts_ms.unwrap_or(watermark_ts_ms)
    }

    pub fn quiet(&self, now_ms: Option<i64>, idle_after_ms: Option<i64>) -> bool {
        match (now_ms, idle_after_ms) {
            (Some(now), Some(idle)) => self.last_arrival_ms.is_none_or(|last| now.saturating_sub(last) >= idle),
            _ => false,
        }
    }

    pub fn close_until(&mut self, now_ms: Option<i64>, lateness_ms: i64, idle_after_ms: Option<i64>) -> Option<i64> {
        let wm = self.watermark(lateness_ms);
        let now = match now_ms {
            Some(now) if self.quiet(now_ms, idle_after_ms) => now,
            _ => return wm,
        };
        let mut bound = now.saturating_sub(lateness_ms);
        if let (Some(w), Some(last)) = (wm, self.last_arrival_ms) {
            bound = bound.max(w.saturating_add(now.saturating_sub(last)));
        }
        match wm {
            Some(w) if bound <= w => Some(w),
            _ => Some(bound),
        }
    }

    pub fn on_eof(&mut self) -> i64 {
        self.watermark_ts_ms = Some(MAX_TS_MS);
        MAX_TS_MS
    }

    pub fn is_late(&self, ts_ms: i64) -> bool {
        self.watermark_ts_ms.is_some_and(|w| ts_ms <= w)
    }
}

/// A session key, owned. Hashes like `KeyRef` (both derive Hash over three
/// strs in the same order), so a lookup by borrowed strs allocates nothing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub org_id: Box<str>,
    pub product_id: Box<str>,
    pub session_id: Box<str>,
}

#[derive(Clone, Copy, Debug, Hash)]
pub struct KeyRef<'a>(pub &'a str, pub &'a str, pub &'a str);

impl KeyRef<'_> {
    pub fn to_key(self) -> Key {
        Key { org_id: self.0.into(), product_id: self.1.into(), session_id: self.2.into() }
    }
}

impl Equivalent<Arc<Key>> for KeyRef<'_> {
    fn equivalent(&self, key: &Arc<Key>) -> bool {
        *key.org_id == *self.0 && *key.product_id == *self.1 && *key.session_id == *self.2
    }
}

pub struct Ev<T> {
    pub ts_ms: i64,
    pub event_id: Box<str>,
    pub item: T,
}

fn before<T>(a: &Ev<T>, b: &Ev<T>) -> std::cmp::Ordering {
    (a.ts_ms, &*a.event_id).cmp(&(b.ts_ms, &*b.event_id))
}

pub struct KeyState<T> {
    pub events: Vec<Ev<T>>,
    ids: HashSet<Box<str>>,
    is_sorted: bool,
    pub closed_count: i64,
    pub closed_start_ts_ms: Option<i64>,
    pub closed_last_ts_ms: Option<i64>,
    // Insertion order, as a Python dict keeps it: close_all and snapshot
    // go through keys in this order.
    serial: u64,
}

impl<T> KeyState<T> {
    fn new(serial: u64) -> Self {
        KeyState { events: Vec::new(), ids: HashSet::new(), is_sorted: true, closed_count: 0,
                   closed_start_ts_ms: None, closed_last_ts_ms: None, serial }
    }

    /// False for an id already open in this key.
    fn add(&mut self, ts_ms: i64, event_id: &str, item: impl FnOnce() -> T) -> bool {
        if self.ids.contains(event_id) {
            return false;
        }
        self.ids.insert(event_id.into());
        if self.is_sorted {
            if let Some(last) = self.events.last() {
                if ts_ms < last.ts_ms || (ts_ms == last.ts_ms && event_id < &*last.event_id) {
                    self.is_sorted = false;
                }
            }
        }
        self.events.push(Ev { ts_ms, event_id: event_id.into(), item: item() });
        true
    }

    fn sort(&mut self) {
        if !self.is_sorted {
            self.events.sort_by(before);
            self.is_sorted = true;
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Accepted,
    Duplicate,
    Late,
}

/// A closed session: its key, its 1-based number within the key, its events
/// sorted by (ts_ms, event_id).
pub struct Closed<T> {
    pub key: Arc<Key>,
    pub seq: i64,
    pub events: Vec<Ev<T>>,
}

/// One key's resume state: its open events and its closed-session marker.
pub struct KeySnapshot<'a, T> {
    pub key: &'a Key,
    pub events: &'a [Ev<T>],
    pub closed_count: i64,
    pub closed_start_ts_ms: Option<i64>,
    pub closed_last_ts_ms: Option<i64>,
}

pub struct Sessionizer<T> {
    pub config: Config,
    keys: HashMap<Arc<Key>, KeyState<T>>,
    // (deadline, key): a key is looked at once the clock reaches its
    // deadline. Entries may be stale; they are re-checked when popped.
    deadlines: BinaryHeap<Reverse<(i64, Arc<Key>)>>,
    pub clock: Clock,
    /// What the last advance closed by: the watermark, or the idle bound.
    pub closed_until_ts_ms: Option<i64>,
    serial: u64,
}

impl<T> Sessionizer<T> {
    pub fn new(config: Config) -> Self {
        Sessionizer { config, keys: HashMap::new(), deadlines: BinaryHeap::new(), clock: Clock::default(),
                      closed_until_ts_ms: None, serial: 0 }
    }

    pub fn has_key(&self, key: KeyRef<'_>) -> bool {
        self.keys.contains_key(&key)
    }

    pub fn open_keys(&self) -> usize {
        self.keys.len()
    }

    pub fn open_events(&self) -> usize {
        self.keys.values().map(|s| s.events.len()).sum()
    }

    fn state(&mut self, key: KeyRef<'_>) -> (Arc<Key>, &mut KeyState<T>) {
        if !self.keys.contains_key(&key) {
            self.serial += 1;
            self.keys.insert(Arc::new(key.to_key()), KeyState::new(self.serial));
        }
        let (k, state) = self.keys.get_key_value_mut(&key).expect("inserted above");
        (k.clone(), state)
    }

    fn is_late(&self, state: &KeyState<T>, ts_ms: i64) -> bool {
        let (Some(last), Some(start)) = (state.closed_last_ts_ms, state.closed_start_ts_ms) else { return false };
        if ts_ms <= last {
            return true;
        }
        // Would it extend the closed session (within the gap, before the cut)?
        ts_ms.saturating_sub(last) <= self.config.gap_ms && ts_ms.saturating_sub(start) < self.config.max_length_ms
    }

    /// Buffer one event arrived at wall-clock `now_ms`; `item` is made only
    /// when the event is accepted.
    pub fn on_event(&mut self, key: KeyRef<'_>, ts_ms: i64, event_id: &str, now_ms: Option<i64>,
                    item: impl FnOnce() -> T) -> Status {
        // Every arrival counts for the idle rule; only accepted events can be
        // past the watermark, so only they move it.
        self.clock.on_event(ts_ms, now_ms);
        if let Some(state) = self.keys.get(&key) {
            if state.closed_last_ts_ms.is_some() && self.is_late(state, ts_ms) {
                return if state.ids.contains(event_id) { Status::Duplicate } else { Status::Late };
            }
        }
        let first_deadline = ts_ms.saturating_add(self.config.gap_ms).saturating_add(1);
        let (k, state) = self.state(key);
        let first_ts = state.events.first().map(|e| e.ts_ms);
        if !state.add(ts_ms, event_id, item) {
            return Status::Duplicate;
        }
        if first_ts.is_none_or(|first| ts_ms < first) {
            self.deadlines.push(Reverse((first_deadline, k)));
        }
        Status::Accepted
    }

    /// Stored history of keys not held (no late check, no clock): their
    /// sessions are then computed whole, with the right numbering.
    pub fn preload(&mut self, key: KeyRef<'_>, ts_ms: i64, event_id: &str, item: impl FnOnce() -> T) {
        let first_deadline = ts_ms.saturating_add(self.config.gap_ms).saturating_add(1);
        let (k, state) = self.state(key);
        let first_ts = state.events.first().map(|e| e.ts_ms);
        let added = state.add(ts_ms, event_id, item);
        if (added && first_ts.is_none()) || first_ts.is_some_and(|first| ts_ms < first) {
            self.deadlines.push(Reverse((first_deadline, k)));
        }
    }

    /// Drop a key's state (its heap entries go stale and are skipped).
    pub fn forget(&mut self, key: KeyRef<'_>) {
        self.keys.remove(&key);
    }

    /// Close what the clock has passed: its watermark (moved forward to
    /// `watermark_ts_ms` when given and later) or, while the source is quiet
    /// at wall-clock `now_ms`, its idle bound.
    pub fn advance(&mut self, watermark_ts_ms: Option<i64>, now_ms: Option<i64>) -> Vec<Closed<T>> {
        if let Some(wm) = watermark_ts_ms {
            self.clock.advance_to(wm);
        }
        let Some(until) = self.clock.close_until(now_ms, self.config.allowed_lateness_ms, self.config.idle_after_ms)
        else {
            return Vec::new();
        };
        self.closed_until_ts_ms = Some(until);
        self.close_until(until)
    }

    fn close_until(&mut self, wm: i64) -> Vec<Closed<T>> {
        let mut closed = Vec::new();
        while let Some(Reverse((deadline, _))) = self.deadlines.peek() {
            if *deadline > wm {
                break;
            }
            let Some(Reverse((_, key))) = self.deadlines.pop() else { break };
            if let Some(next) = self.close_due(&key, wm, &mut closed) {
                self.deadlines.push(Reverse((next, key)));
            }
        }
        closed
    }

    /// Close the due segments at the front of a key; its next deadline, if any.
    fn close_due(&mut self, key: &Arc<Key>, wm: i64, closed: &mut Vec<Closed<T>>) -> Option<i64> {
        let config = self.config;
        let state = self.keys.get_mut(key)?;
        while !state.events.is_empty() {
            state.sort();
            let end = segment_end(&config, &state.events);
            let deadline = config.deadline_ms(state.events[0].ts_ms, state.events[end - 1].ts_ms);
            if deadline > wm {
                return Some(deadline);
            }
            close_first_segment(key, state, end, closed);
        }
        let retained = state
            .closed_last_ts_ms
            .map(|last| last.saturating_add(config.gap_ms).saturating_add(config.key_retention_ms));
        match retained {
            Some(until) if wm < until => Some(until),
            _ => {
                self.keys.remove(key);
                None
            }
        }
    }

    /// End of input (replay): every open session closes.
    pub fn close_all(&mut self) -> Vec<Closed<T>> {
        let mut order: Vec<(u64, Arc<Key>)> = self.keys.iter().map(|(k, s)| (s.serial, k.clone())).collect();
        order.sort_unstable_by_key(|(serial, _)| *serial);
        let mut closed = Vec::new();
        for (_, key) in order {
            if let Some(state) = self.keys.get_mut(&key) {
                while !state.events.is_empty() {
                    state.sort();
                    let end = segment_end(&self.config, &state.events);
                    close_first_segment(&key, state, end, &mut closed);
                }
            }
        }
        self.keys.clear();
        self.deadlines.clear();
        self.clock.on_eof();
        closed
    }

    /// Every key's resume state, in insertion order.
    pub fn snapshot(&self) -> Vec<KeySnapshot<'_, T>> {
        let mut out: Vec<(u64, KeySnapshot<'_, T>)> = self
            .keys
            .iter()
            .map(|(k, s)| {
                (s.serial, KeySnapshot { key: k, events: &s.events, closed_count: s.closed_count,
                                         closed_start_ts_ms: s.closed_start_ts_ms, closed_last_ts_ms: s.closed_last_ts_ms })
            })
            .collect();
        out.sort_unstable_by_key(|(serial, _)| *serial);
        out.into_iter().map(|(_, s)| s).collect()
    }

    /// Restore one key of a snapshot.
    pub fn restore_key(&mut self, key: KeyRef<'_>, events: Vec<(i64, String, T)>, closed_count: i64,
                       closed_start_ts_ms: Option<i64>, closed_last_ts_ms: Option<i64>) {
        let config = self.config;
        let first_ts = events.first().map(|e| e.0);
        let (k, state) = self.state(key);
        for (ts_ms, id, item) in events {
            state.add(ts_ms, &id, || item);
        }
        state.closed_count = closed_count;
        state.closed_start_ts_ms = closed_start_ts_ms;
        state.closed_last_ts_ms = closed_last_ts_ms;
        let deadline = match (first_ts, closed_last_ts_ms) {
            (Some(first), _) => first.saturating_add(config.gap_ms).saturating_add(1),
            (None, Some(last)) => last.saturating_add(config.gap_ms),
            (None, None) => i64::MIN, // nothing open, nothing closed: dropped at the next advance
        };
        self.deadlines.push(Reverse((deadline, k)));
    }
}

/// Index one past the first segment of sorted, non-empty `events`.
fn segment_end<T>(config: &Config, events: &[Ev<T>]) -> usize {
    let start = events[0].ts_ms;
    let mut prev = start;
    for (i, e) in events.iter().enumerate().skip(1) {
        if e.ts_ms.saturating_sub(prev) > config.gap_ms || e.ts_ms.saturating_sub(start) >= config.max_length_ms {
            return i;
        }
        prev = e.ts_ms;
    }
    events.len()
}

fn close_first_segment<T>(key: &Arc<Key>, state: &mut KeyState<T>, end: usize, closed: &mut Vec<Closed<T>>) {
    let segment: Vec<Ev<T>> = state.events.drain(..end).collect();
    for e in &segment {
        state.ids.remove(&e.event_id);
    }
    state.closed_count += 1;
    state.closed_start_ts_ms = segment.first().map(|e| e.ts_ms);
    state.closed_last_ts_ms = segment.last().map(|e| e.ts_ms);
    closed.push(Closed { key: key.clone(), seq: state.closed_count, events: segment });
}

/// `<client id>` for a key's first session, `<client id>#<n>` for the n-th.
pub fn session_id_for(client_session_id: &str, seq: i64) -> String {
    if seq == 1 {
        client_session_id.to_owned()
    } else {
        format!("{client_session_id}#{seq}")
    }
}

#[cfg(test)]
#[path = "sessionizer_tests.rs"]
mod tests;
