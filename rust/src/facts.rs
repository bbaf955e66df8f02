//! Everything derived from one closed session (docs/semantics.md,
//! "Incidents", "Task runs", "Metrics and scores"): the incidents, task runs,
//! per-screen stats, metrics and both scores. Pure Rust over plain values; the
//! Python objects are read by `facts_py.rs` and the rows become Arrow there.
//! The executable reference is tests/reference/ (today's Python rules), which
//! tests/test_native_facts.py holds this to, floats bit for bit: every
//! float expression keeps the reference's order of operations.

use blake2::digest::{Update, VariableOutput};
use blake2::Blake2bVar;
use hashbrown::{HashMap, HashSet};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Click,
    Navigation,
    FocusChange,
    Other,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    Start,
    Complete,
    Fail,
}

/// One event, as the rules read it (its task marker already resolved).
#[derive(Clone, Debug)]
pub struct Ev {
    pub event_id: String,
    pub ts_ms: i64,
    pub kind: Kind,
    pub screen_id: String,
    pub route: String,
    pub element_type: Option<String>,
    pub element_label_hash: Option<String>,
    pub has_error: bool, // a non-empty errorCode
    pub dead: bool,
    pub focus_state: bool, // extra.state == "focus"
    pub marker: Option<(String, Action)>,
}

#[derive(Clone, Debug, Default)]
pub struct Segment {
    pub device_type: Option<String>,
    pub browser: Option<String>,
    pub os: Option<String>,
    pub app_name: Option<String>,
    pub app_version: Option<String>,
}

#[derive(Clone, Debug)]
pub struct SessionIn {
    pub org_id: String,
    pub product_id: String,
    pub client_session_id: String,
    pub session_id: String,
    pub user_hash: String,
    pub segment: Segment,
    pub events: Vec<Ev>, // sorted by (ts_ms, event_id), non-empty
}

#[derive(Clone, Debug)]
pub struct Config {
    pub rage_min_clicks: i64,
    pub rage_max_interval_ms: i64,
    pub rage_excluded_label_hashes: HashSet<String>,
    pub rage_excluded_element_types: HashSet<String>,
    pub backtrack_max_dwell_ms: i64,
    pub abandon_after_ms: i64,
    pub error_click_window_ms: i64,
    pub loop_max_navigations: i64,
    pub loop_max_duration_ms: i64,
    pub frustration_scale: f64,
    pub frustration_offset: f64,
    pub weight_rage_clicks: f64,
    pub weight_backtracks: f64,
    pub weight_error_events: f64,
    pub weight_tasks_abandoned: f64,
    pub weight_tasks_failed: f64,
    pub weight_loops: f64,
    pub weight_dead_clicks: f64,
    pub efficiency_scale: f64,
    pub efficiency_offset: f64,
    pub weight_completion: f64,
    pub weight_clicks: f64,
    pub weight_navigation: f64,
    pub target_clicks_per_task: f64,
}

/// In the registry's order (core/incidents.py `INCIDENT_KINDS`).
pub const TYPES: [&str; 6] = ["rage_click", "backtrack", "abandoned_task", "error_click", "loop", "dead_click"];
const RAGE: usize = 0;
const BACKTRACK: usize = 1;
const ABANDONED: usize = 2;
const ERROR_CLICK: usize = 3;
const LOOP: usize = 4;
const DEAD: usize = 5;

#[derive(Clone, Debug)]
pub struct Incident {
    pub kind: usize, // index into TYPES
    pub incident_id: String,
    pub screen: usize, // the event the incident is attributed to (its screen and route)
    pub first: usize,
    pub last: usize,
    pub click_count: i64,
    pub task_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub task_name: Option<String>,
    pub start: usize,
    pub end: usize,
    pub outcome: &'static str,
}

#[derive(Clone, Debug)]
pub struct ScreenRow {
    pub screen: usize, // first event on the screen (its id and route)
    pub events: i64,
    pub views: i64,
    pub dwell_ms: i64,
    pub clicks: i64,
    pub errors: i64,
    pub by_type: [i64; 6],
}

#[derive(Clone, Debug)]
pub struct Facts {
    pub counts: [i64; 6],
    pub clicks: i64,
    pub views: i64,
    pub errors: i64,
    pub switches: i64,
    pub unique_screens: i64,
    pub started: i64,
    pub completed: i64,
    pub failed: i64,
    pub frustration: f64,
    pub efficiency: f64,
    pub incidents: Vec<Incident>,
    pub screens: Vec<ScreenRow>,
    pub runs: Vec<Span>, // the "session" run when there are no task markers
}

pub fn incident_id(kind: &str, s: &SessionIn, first_event_id: &str) -> String {
    let mut h = Blake2bVar::new(12).expect("12 is a valid blake2b length");
    let parts = [kind, &s.org_id, &s.product_id, &s.session_id, first_event_id];
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b"\x1f");
        }
        h.update(p.as_bytes());
    }
    let mut out = [0u8; 12];
    h.finalize_variable(&mut out).expect("output of the declared length");
    out.iter().map(|b| format!("{b:02x}")).collect()
}

fn last_index_at_or_before(events: &[Ev], mut lo: usize, ts_ms: i64) -> usize {
    let mut hi = events.len();
    while lo < hi {
        let mid = (lo + hi) / 2;
        if events[mid].ts_ms <= ts_ms {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo - 1
}

/// core/tasks.py `find_task_runs`, in i128 so no deadline can overflow.
pub fn task_runs(events: &[Ev], abandon_after_ms: i64) -> Vec<Span> {
    let after = i128::from(abandon_after_ms);
    let deadline_of = |start: usize| i128::from(events[start].ts_ms) + after;
    let mut runs: Vec<Span> = Vec::new();
    let mut open: Vec<(String, usize)> = Vec::new(); // in insertion order, as the reference's dict
    let abandon = |runs: &mut Vec<Span>, name: String, start: usize, end: usize| {
        runs.push(Span { task_name: Some(name), start, end: end.max(start), outcome: "abandoned" });
    };
    let mut next_deadline: Option<i128> = None; // None: never
    for (i, ev) in events.iter().enumerate() {
        let ts = i128::from(ev.ts_ms);
        if next_deadline.is_some_and(|d| ts > d) {
            let mut kept = Vec::with_capacity(open.len());
            for (name, start) in open.drain(..) {
                let deadline = deadline_of(start);
                if ts > deadline {
                    let end = last_index_at_or_before(events, start, deadline as i64);
                    abandon(&mut runs, name, start, end);
                } else {
                    kept.push((name, start));
                }
            }
            open = kept;
            next_deadline = open.iter().map(|(_, s)| deadline_of(*s)).min();
        }
        let Some((name, action)) = &ev.marker else { continue };
        let at = open.iter().position(|(n, _)| n == name);
        match action {
            Action::Start => {
                if let Some(at) = at {
                    let (n, start) = open.remove(at);
                    abandon(&mut runs, n, start, i - 1);
                }
                open.push((name.clone(), i));
                let d = ts + after;
                next_deadline = Some(next_deadline.map_or(d, |n| n.min(d)));
            }
            Action::Complete | Action::Fail => {
                if let Some(at) = at {
                    let (n, start) = open.remove(at);
                    let outcome = if *action == Action::Complete { "completed" } else { "failed" };
                    runs.push(Span { task_name: Some(n), start, end: i, outcome });
                }
            }
        }
    }
    for (name, start) in open {
        let deadline = deadline_of(start);
        // A deadline past every int64 time: the last event is at or before it.
        let end = if deadline > i128::from(i64::MAX) {
            events.len() - 1
        } else {
            last_index_at_or_before(events, start, deadline as i64)
        };
        abandon(&mut runs, name, start, end);
    }
    runs.sort_by_key(|r| (r.start, r.end)); // stable, as Python's sort
    runs
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Target<'a> {
    Label(&'a str, &'a str),
    Type(&'a str, &'a str),
}

fn click_target<'a>(ev: &'a Ev, c: &Config) -> Option<Target<'a>> {
    let nonempty = |v: &'a Option<String>| v.as_deref().filter(|s| !s.is_empty());
    if let Some(label) = nonempty(&ev.element_label_hash) {
        if c.rage_excluded_label_hashes.contains(label) {
            return None;
        }
        if nonempty(&ev.element_type).is_some_and(|t| c.rage_excluded_element_types.contains(t)) {
            return None;
        }
        return Some(Target::Label(&ev.screen_id, label));
    }
    let t = nonempty(&ev.element_type)?;
    if c.rage_excluded_element_types.contains(t) {
        return None;
    }
    Some(Target::Type(&ev.screen_id, t))
}

struct Out<'s> {
    s: &'s SessionIn,
    incidents: Vec<Incident>,
}

impl Out<'_> {
    fn add(&mut self, kind: usize, first: usize, last: usize, screen: usize, clicks: i64, task: Option<String>) {
        let ev = &self.s.events[first];
        self.incidents.push(Incident {
            kind,
            incident_id: incident_id(TYPES[kind], self.s, &ev.event_id),
            screen,
            first,
            last,
            click_count: clicks,
            task_name: task,
        });
    }
}

fn rage_clicks(out: &mut Out, c: &Config) {
    let events = &out.s.events;
    let mut burst: Vec<usize> = Vec::new();
    let mut target: Option<Target> = None;
    let flush = |out: &mut Out, burst: &[usize]| {
        if burst.len() as i64 >= c.rage_min_clicks && !burst.is_empty() {
            out.add(RAGE, burst[0], burst[burst.len() - 1], burst[0], burst.len() as i64, None);
        }
    };
    for (i, ev) in events.iter().enumerate() {
        if ev.kind != Kind::Click {
            continue;
        }
        let Some(t) = click_target(ev, c) else { continue };
        if let Some(&prev) = burst.last() {
            let gap = i128::from(ev.ts_ms) - i128::from(events[prev].ts_ms);
            if target == Some(t) && gap <= i128::from(c.rage_max_interval_ms) {
                burst.push(i);
                continue;
            }
        }
        flush(out, &burst);
        burst = vec![i];
        target = Some(t);
    }
    flush(out, &burst);
}

fn arrivals(events: &[Ev]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        if ev.kind == Kind::Navigation && out.last().is_none_or(|&a| events[a].screen_id != ev.screen_id) {
            out.push(i);
        }
    }
    out
}

fn gap(events: &[Ev], from: usize, to: usize) -> i128 {
    i128::from(events[to].ts_ms) - i128::from(events[from].ts_ms)
}

fn backtracks(out: &mut Out, arr: &[usize], c: &Config) {
    let events = &out.s.events;
    for i in 2..arr.len() {
        let (back, bounced, ret) = (arr[i - 2], arr[i - 1], arr[i]);
        if events[ret].screen_id == events[back].screen_id
            && gap(events, bounced, ret) <= i128::from(c.backtrack_max_dwell_ms)
        {
            out.add(BACKTRACK, bounced, ret, bounced, 0, None);
        }
    }
}

fn loops(out: &mut Out, arr: &[usize], c: &Config) {
    let events = &out.s.events;
    let mut last_seen: HashMap<&str, usize> = HashMap::new();
    let mut floor = 0usize;
    for (i, &a) in arr.iter().enumerate() {
        let j = last_seen.insert(events[a].screen_id.as_str(), i);
        let Some(j) = j else { continue };
        let back = (i - j) as i64;
        if j < floor || !(3 <= back && back <= c.loop_max_navigations) {
            continue;
        }
        let left = arr[j + 1];
        if gap(events, left, a) > i128::from(c.loop_max_duration_ms) {
            continue;
        }
        out.add(LOOP, left, a, arr[j], 0, None);
        floor = i;
    }
}

fn error_clicks(out: &mut Out, c: &Config) {
    let events = &out.s.events;
    for (i, ev) in events.iter().enumerate() {
        if ev.kind != Kind::Click {
            continue;
        }
        for (k, later) in events.iter().enumerate().skip(i + 1) {
            if gap(events, i, k) > i128::from(c.error_click_window_ms) {
                break;
            }
            if later.has_error && later.screen_id == ev.screen_id {
                out.add(ERROR_CLICK, i, k, i, 0, None);
                break;
            }
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn min1(x: f64) -> f64 {
    if x < 1.0 { x } else { 1.0 }
}

pub fn process(s: &SessionIn, c: &Config) -> Facts {
    let events = &s.events;
    let spans = task_runs(events, c.abandon_after_ms);
    let arr = arrivals(events);
    let mut out = Out { s, incidents: Vec::new() };
    rage_clicks(&mut out, c);
    backtracks(&mut out, &arr, c);
    for span in spans.iter().filter(|r| r.outcome == "abandoned") {
        out.add(ABANDONED, span.start, span.end, span.end, 0, span.task_name.clone());
    }
    error_clicks(&mut out, c);
    loops(&mut out, &arr, c);
    for (i, ev) in events.iter().enumerate() {
        if ev.kind == Kind::Click && ev.dead {
            out.add(DEAD, i, i, i, 1, None);
        }
    }
    let incidents = out.incidents;
    let mut counts = [0i64; 6];
    for inc in &incidents {
        counts[inc.kind] += 1;
    }
    let (mut clicks, mut views, mut errors, mut switches) = (0i64, 0i64, 0i64, 0i64);
    let mut screens: HashSet<&str> = HashSet::new();
    for ev in events {
        screens.insert(&ev.screen_id);
        match ev.kind {
            Kind::Click => clicks += 1,
            Kind::Navigation => views += 1,
            Kind::FocusChange if !ev.focus_state => switches += 1,
            _ => {}
        }
        if ev.has_error {
            errors += 1;
        }
    }
    let started = spans.len() as i64;
    let completed = spans.iter().filter(|r| r.outcome == "completed").count() as i64;
    let failed = spans.iter().filter(|r| r.outcome == "failed").count() as i64;
    let r = c.weight_rage_clicks * counts[RAGE] as f64
        + c.weight_backtracks * counts[BACKTRACK] as f64
        + c.weight_error_events * errors as f64
        + c.weight_tasks_abandoned * counts[ABANDONED] as f64
        + c.weight_tasks_failed * failed as f64
        + c.weight_loops * counts[LOOP] as f64
        + c.weight_dead_clicks * counts[DEAD] as f64;
    let frustration = sigmoid(c.frustration_scale * (r - c.frustration_offset));
    let completion = if started != 0 { completed as f64 / started as f64 } else { 0.5 };
    let k = if completed != 0 {
        let per_task = clicks as f64 / completed as f64;
        if per_task == 0.0 { 1.0 } else { min1(c.target_clicks_per_task / per_task) }
    } else if started != 0 {
        0.0
    } else {
        0.5
    };
    let n = if views != 0 { 1.0 - min1(counts[BACKTRACK] as f64 / views as f64) } else { 1.0 };
    let q = c.weight_completion * completion + c.weight_clicks * k + c.weight_navigation * n;
    let efficiency = sigmoid(c.efficiency_scale * (q - c.efficiency_offset));
    let screen_rows = screen_stats(events, &incidents);
    let runs = if spans.is_empty() {
        vec![Span { task_name: None, start: 0, end: events.len() - 1, outcome: "session" }]
    } else {
        spans
    };
    Facts {
        counts,
        clicks,
        views,
        errors,
        switches,
        unique_screens: screens.len() as i64,
        started,
        completed,
        failed,
        frustration,
        efficiency,
        incidents,
        screens: screen_rows,
        runs,
    }
}

fn screen_stats(events: &[Ev], incidents: &[Incident]) -> Vec<ScreenRow> {
    let mut rows: Vec<ScreenRow> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut last_view: Option<(usize, i64)> = None; // (row, arrival ts)
    for (i, ev) in events.iter().enumerate() {
        let row = *index.entry(ev.screen_id.as_str()).or_insert_with(|| {
            rows.push(ScreenRow { screen: i, events: 0, views: 0, dwell_ms: 0, clicks: 0, errors: 0, by_type: [0; 6] });
            rows.len() - 1
        });
        rows[row].events += 1;
        match ev.kind {
            Kind::Navigation => {
                // A view's dwell lasts until the next navigation, whichever screen it goes to.
                if let Some((prev, ts)) = last_view {
                    rows[prev].dwell_ms += ev.ts_ms - ts;
                }
                rows[row].views += 1;
                last_view = Some((row, ev.ts_ms));
            }
            Kind::Click => rows[row].clicks += 1,
            _ => {}
        }
        if ev.has_error {
            rows[row].errors += 1;
        }
    }
    if let Some((prev, ts)) = last_view {
        rows[prev].dwell_ms += events[events.len() - 1].ts_ms - ts;
    }
    for inc in incidents {
        let row = index[events[inc.screen].screen_id.as_str()];
        rows[row].by_type[inc.kind] += 1;
    }
    rows.sort_by(|a, b| events[a.screen].screen_id.cmp(&events[b.screen].screen_id));
    rows
}

/// The collapsed screen path of events[lo..=hi] and the arrival time on each.
pub fn collapsed_path(events: &[Ev], lo: usize, hi: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for (i, ev) in events.iter().enumerate().take(hi + 1).skip(lo) {
        if out.last().is_none_or(|&p| events[p].screen_id != ev.screen_id) {
            out.push(i);
        }
    }
    out
}
