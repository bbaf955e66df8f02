//! The four fact tables' rows as Arrow record batches: the columns, names,
//! types and order of the stores' fact tables (`store/arrow.py`, the
//! reference's `tests/reference/tables.py`), so both stores take them as
//! they are. No Python object is made per row.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};

use crate::facts::{collapsed_path, Facts, SessionIn, TYPES};

/// One table's columns, filled row by row, in declaration order (the fact
/// tables here, `events_raw` in events_py.rs).
pub(crate) enum Col {
    Str(StringBuilder),
    Int(Int64Builder),
    Ts(TimestampMillisecondBuilder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    StrList(ListBuilder<StringBuilder>),
    IntList(ListBuilder<Int64Builder>),
}

pub(crate) struct Table {
    fields: Vec<Field>,
    pub(crate) cols: Vec<Col>,
}

impl Table {
    /// Columns by (name, type): s str, i int64, t timestamp (ms), f float64,
    /// b bool, S list of str, I list of int64; every one nullable.
    pub(crate) fn new(spec: &[(&str, char)]) -> Self {
        let mut fields = Vec::new();
        let mut cols = Vec::new();
        for &(name, t) in spec {
            let (dt, col) = match t {
                's' => (DataType::Utf8, Col::Str(StringBuilder::new())),
                'i' => (DataType::Int64, Col::Int(Int64Builder::new())),
                't' => (DataType::Timestamp(TimeUnit::Millisecond, None), Col::Ts(TimestampMillisecondBuilder::new())),
                'f' => (DataType::Float64, Col::F64(Float64Builder::new())),
                'b' => (DataType::Boolean, Col::Bool(BooleanBuilder::new())),
                'S' => (
                    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                    Col::StrList(ListBuilder::new(StringBuilder::new())),
                ),
                'I' => (
                    DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
                    Col::IntList(ListBuilder::new(Int64Builder::new())),
                ),
                _ => unreachable!("column type {t}"),
            };
            fields.push(Field::new(name, dt, true));
            cols.push(col);
        }
        Table { fields, cols }
    }

    pub(crate) fn finish(self) -> Result<RecordBatch, ArrowError> {
        let arrays: Vec<ArrayRef> = self
            .cols
            .into_iter()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Str(mut b) => Arc::new(b.finish()),
                    Col::Int(mut b) => Arc::new(b.finish()),
                    Col::Ts(mut b) => Arc::new(b.finish()),
                    Col::F64(mut b) => Arc::new(b.finish()),
                    Col::Bool(mut b) => Arc::new(b.finish()),
                    Col::StrList(mut b) => Arc::new(b.finish()),
                    Col::IntList(mut b) => Arc::new(b.finish()),
                }
            })
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(self.fields)), arrays)
    }
}

/// A row being written: each call fills the next column.
struct Row<'t> {
    cols: std::slice::IterMut<'t, Col>,
}

impl Row<'_> {
    fn next(&mut self) -> &mut Col {
        self.cols.next().expect("a value per column")
    }
    fn s(&mut self, v: Option<&str>) -> &mut Self {
        match self.next() {
            Col::Str(b) => b.append_option(v),
            _ => unreachable!("not a string column"),
        }
        self
    }
    fn i(&mut self, v: i64) -> &mut Self {
        match self.next() {
            Col::Int(b) => b.append_value(v),
            Col::Ts(b) => b.append_value(v),
            _ => unreachable!("not an integer column"),
        }
        self
    }
    fn f(&mut self, v: f64) -> &mut Self {
        match self.next() {
            Col::F64(b) => b.append_value(v),
            _ => unreachable!("not a float column"),
        }
        self
    }
    fn paths<'a>(&mut self, screens: impl Iterator<Item = &'a str>, ts: impl Iterator<Item = i64>) -> &mut Self {
        match self.next() {
            Col::StrList(b) => {
                for s in screens {
                    b.values().append_value(s);
                }
                b.append(true);
            }
            _ => unreachable!("not a list column"),
        }
        match self.next() {
            Col::IntList(b) => {
                for t in ts {
                    b.values().append_value(t);
                }
                b.append(true);
            }
            _ => unreachable!("not a list column"),
        }
        self
    }
    fn segment(&mut self, s: &SessionIn) -> &mut Self {
        let g = &s.segment;
        self.s(g.device_type.as_deref()).s(g.browser.as_deref()).s(g.os.as_deref()).s(g.app_name.as_deref()).s(g.app_version.as_deref())
    }
}

impl Table {
    fn row(&mut self) -> Row<'_> {
        Row { cols: self.cols.iter_mut() }
    }
}

const SEGMENT: [(&str, char); 5] = [("device_type", 's'), ("browser", 's'), ("os", 's'), ("app_name", 's'), ("app_version", 's')];

fn with_segment(spec: &[(&'static str, char)]) -> Vec<(&'static str, char)> {
    spec.iter().copied().chain(SEGMENT).collect()
}

const SESSIONS: [(&str, char); 33] = [
    ("org_id", 's'), ("product_id", 's'), ("session_id", 's'), ("client_session_id", 's'), ("user_hash", 's'),
    ("start_ts", 't'), ("end_ts", 't'), ("duration_ms", 'i'), ("event_count", 'i'), ("click_count", 'i'),
    ("screen_views", 'i'), ("unique_screens", 'i'), ("rage_clicks", 'i'), ("backtracks", 'i'),
    ("context_switches", 'i'), ("tasks_started", 'i'), ("tasks_completed", 'i'), ("tasks_failed", 'i'),
    ("tasks_abandoned", 'i'), ("error_events", 'i'), ("error_clicks", 'i'), ("loops", 'i'), ("dead_clicks", 'i'),
    ("frustration_score", 'f'), ("efficiency_score", 'f'), ("entry_screen", 's'), ("exit_screen", 's'),
    ("device_type", 's'), ("version", 'i'), ("browser", 's'), ("os", 's'), ("app_name", 's'), ("app_version", 's'),
];
const INCIDENTS: [(&str, char); 13] = [
    ("incident_id", 's'), ("org_id", 's'), ("product_id", 's'), ("session_id", 's'), ("incident_type", 's'),
    ("screen_id", 's'), ("route", 's'), ("ts", 't'), ("end_ts", 't'), ("first_event_id", 's'),
    ("click_count", 'i'), ("duration_ms", 'i'), ("task_name", 's'),
];
const SCREENS: [(&str, char); 20] = [
    ("org_id", 's'), ("product_id", 's'), ("session_id", 's'), ("screen_id", 's'), ("route", 's'),
    ("session_start_ts", 't'), ("events", 'i'), ("views", 'i'), ("dwell_ms", 'i'), ("clicks", 'i'), ("errors", 'i'),
    ("rage_clicks", 'i'), ("backtracks", 'i'), ("abandoned_tasks", 'i'), ("error_clicks", 'i'), ("loops", 'i'),
    ("dead_clicks", 'i'), ("frustration_score", 'f'), ("efficiency_score", 'f'), ("version", 'i'),
];
const RUNS: [(&str, char); 14] = [
    ("org_id", 's'), ("product_id", 's'), ("session_id", 's'), ("task_name", 's'), ("run_index", 'i'),
    ("start_ts", 't'), ("end_ts", 't'), ("duration_ms", 'i'), ("outcome", 's'), ("path", 'S'), ("path_ts_ms", 'I'),
    ("session_start_ts", 't'), ("frustration_score", 'f'), ("version", 'i'),
];

// Counter order of the screens table: rage, backtrack, abandoned, error click,
// loop, dead click -- the registry's (TYPES) order.
const _: () = assert!(TYPES.len() == 6);

/// fact_sessions, fact_incidents, fact_session_screens, fact_task_runs.
pub fn batches(inputs: &[SessionIn], facts: &[Facts]) -> Result<Vec<RecordBatch>, ArrowError> {
    let mut sessions = Table::new(&SESSIONS);
    let mut incidents = Table::new(&with_segment(&INCIDENTS));
    let mut screens = Table::new(&with_segment(&SCREENS));
    let mut runs = Table::new(&with_segment(&RUNS));
    for (s, f) in inputs.iter().zip(facts) {
        let ev = &s.events;
        let (first, last) = (&ev[0], &ev[ev.len() - 1]);
        let version = ev.len() as i64; // recomputing a session from more events wins over an older row
        let c = &f.counts;
        let g = &s.segment;
        sessions
            .row()
            .s(Some(&s.org_id)).s(Some(&s.product_id)).s(Some(&s.session_id)).s(Some(&s.client_session_id))
            .s(Some(&s.user_hash)).i(first.ts_ms).i(last.ts_ms).i(last.ts_ms - first.ts_ms).i(version)
            .i(f.clicks).i(f.views).i(f.unique_screens).i(c[0]).i(c[1]).i(f.switches).i(f.started)
            .i(f.completed).i(f.failed).i(c[2]).i(f.errors).i(c[3]).i(c[4]).i(c[5]).f(f.frustration)
            .f(f.efficiency).s(Some(&first.screen_id)).s(Some(&last.screen_id)).s(g.device_type.as_deref())
            .i(version).s(g.browser.as_deref()).s(g.os.as_deref()).s(g.app_name.as_deref())
            .s(g.app_version.as_deref());
        for inc in &f.incidents {
            let (a, b, at) = (&ev[inc.first], &ev[inc.last], &ev[inc.screen]);
            incidents
                .row()
                .s(Some(&inc.incident_id)).s(Some(&s.org_id)).s(Some(&s.product_id)).s(Some(&s.session_id))
                .s(Some(TYPES[inc.kind])).s(Some(&at.screen_id)).s(Some(&at.route)).i(a.ts_ms).i(b.ts_ms)
                .s(Some(&a.event_id)).i(inc.click_count).i(b.ts_ms - a.ts_ms).s(inc.task_name.as_deref())
                .segment(s);
        }
        for r in &f.screens {
            let at = &ev[r.screen];
            let t = &r.by_type;
            screens
                .row()
                .s(Some(&s.org_id)).s(Some(&s.product_id)).s(Some(&s.session_id)).s(Some(&at.screen_id))
                .s(Some(&at.route)).i(first.ts_ms).i(r.events).i(r.views).i(r.dwell_ms).i(r.clicks).i(r.errors)
                .i(t[0]).i(t[1]).i(t[2]).i(t[3]).i(t[4]).i(t[5]).f(f.frustration).f(f.efficiency).i(version)
                .segment(s);
        }
        for (index, run) in f.runs.iter().enumerate() {
            let path = collapsed_path(ev, run.start, run.end);
            let (a, b) = (&ev[run.start], &ev[run.end]);
            runs.row()
                .s(Some(&s.org_id)).s(Some(&s.product_id)).s(Some(&s.session_id)).s(run.task_name.as_deref())
                .i(index as i64).i(a.ts_ms).i(b.ts_ms).i(b.ts_ms - a.ts_ms).s(Some(run.outcome))
                .paths(path.iter().map(|&p| ev[p].screen_id.as_str()), path.iter().map(|&p| ev[p].ts_ms))
                .i(first.ts_ms).f(f.frustration).i(version)
                .segment(s);
        }
    }
    Ok(vec![sessions.finish()?, incidents.finish()?, screens.finish()?, runs.finish()?])
}
