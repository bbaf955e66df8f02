//! The accepted events of a checked `POST /v1/events/batch` body, held in
//! Rust: spans of the body plus each event's bus key. `serve` on Kafka asks
//! for its bus messages (`bus_messages`), built here in one copy per message,
//! so no Python object is made per event. The embedded pipeline asks the
//! check for the `Event`s up front: each is made from the values the check's
//! own scan kept. `raws()` and `keys()` give the per-event view where a
//! caller needs one (a key limited to some orgs, tests).

use std::borrow::Cow;

use hashbrown::HashMap;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::batch::Checked;
use crate::contract::{Val, TS};
use crate::decode_py::{make_event, string_caches};
use crate::WireKey;

/// Each distinct value once, as a str made once (a batch's events mostly
/// share their org, product and session).
#[derive(Default)]
struct Column {
    values: Vec<(Box<str>, Py<PyString>)>,
    index: HashMap<Box<str>, u32>,
}

impl Column {
    fn id(&mut self, py: Python<'_>, text: &str) -> u32 {
        if let Some((last, _)) = self.values.last() {
            if &**last == text {
                return (self.values.len() - 1) as u32;
            }
        }
        if let Some(&id) = self.index.get(text) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push((text.into(), PyString::new(py, text).unbind()));
        self.index.insert(text.into(), id);
        id
    }

    fn text(&self, id: u32) -> &str {
        &self.values[id as usize].0
    }

    fn str(&self, py: Python<'_>, id: u32) -> Py<PyString> {
        self.values[id as usize].1.clone_ref(py)
    }

    fn clone_ref(&self, py: Python<'_>) -> Column {
        Column {
            values: self.values.iter().map(|(t, s)| (t.clone(), s.clone_ref(py))).collect(),
            index: self.index.clone(),
        }
    }
}

/// `contract::FIELDS` slots: the event id, and the server's stamp
/// (`receivedAt`, `agentId`, `sdkVersion`).
const EVENT_ID: usize = 9;
const STAMP: [usize; 3] = [19, 20, 21];

struct Row {
    start: u32,
    end: u32,
    org: u32,
    product: u32,
    session: u32,
    event_id: Option<Box<str>>,
    /// Its `Event`, when they were made (None also for an event without
    /// `eventId`: the Python reference derives its id and makes it).
    event: Option<Py<PyAny>>,
}

#[pyclass(frozen, module = "frictionkit._native")]
pub struct AcceptedEvents {
    body: Py<PyBytes>,
    rows: Vec<Row>,
    orgs: Column,
    products: Column,
    sessions: Column,
    /// Were the `Event`s made (`check_batch` given the `Event` class)?
    made_events: bool,
}

impl AcceptedEvents {
    /// With `event_cls`, each accepted event's `Event` is made from the values
    /// its check kept (`check_batch(..., keep_values=true)`), stamped with the
    /// request's `received_at_ms`, `agentId`, `sdkVersion` and its `ts` moved
    /// by the clock skew.
    pub fn new(
        py: Python<'_>,
        body: &Bound<'_, PyBytes>,
        checked: &mut Checked<'_>,
        received_at_ms: i64,
        event_cls: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<AcceptedEvents> {
        let (mut orgs, mut products, mut sessions) = (Column::default(), Column::default(), Column::default());
        let mut strings = string_caches();
        let stamp = [
            Val::TsUs(received_at_ms.saturating_mul(1000)),
            Val::Str(Cow::Owned(checked.agent_id.clone())),
            Val::Str(Cow::Owned(checked.sdk_version.clone())),
        ];
        let skew_us = checked.skew_ms.checked_mul(1000);
        let mut rows = Vec::with_capacity(checked.accepted.len());
        for a in &mut checked.accepted {
            let event = match (event_cls, a.values.take()) {
                (Some(cls), Some(values)) => made_event(py, values, &stamp, skew_us, &mut strings, cls)?,
                _ => None,
            };
            rows.push(Row {
                // A body is at most the serve cap (a few MiB), far below 4 GiB.
                start: a.start as u32,
                end: a.end as u32,
                org: orgs.id(py, &a.org_id),
                product: products.id(py, &a.product_id),
                session: sessions.id(py, &a.session_id),
                event_id: a.event_id.as_deref().map(Box::from),
                event,
            });
        }
        Ok(AcceptedEvents {
            body: body.clone().unbind(),
            rows,
            orgs,
            products,
            sessions,
            made_events: event_cls.is_some(),
        })
    }

    fn raw<'a>(&self, body: &'a [u8], row: &Row) -> &'a [u8] {
        &body[row.start as usize..row.end as usize]
    }
}

#[pymethods]
impl AcceptedEvents {
    fn __len__(&self) -> usize {
        self.rows.len()
    }

    /// Each accepted event's JSON as the agent sent it, in batch order.
    fn raws<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let body = self.body.bind(py).as_bytes();
        PyList::new(py, self.rows.iter().map(|r| PyBytes::new(py, self.raw(body, r))))
    }

    /// Each accepted event's bus key and `eventId` (`WireKey`), in batch order.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for r in &self.rows {
            list.append(Bound::new(
                py,
                WireKey {
                    org_id: self.orgs.str(py, r.org),
                    product_id: self.products.str(py, r.product),
                    session_id: self.sessions.str(py, r.session),
                    event_id: r.event_id.clone(),
                },
            )?)?;
        }
        Ok(list)
    }

    /// `CheckedBatch.events()`: each accepted event's `Event`, `None` for
    /// those the Python reference makes; `None` for all when they were not made.
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        if !self.made_events {
            return Ok(None);
        }
        let list = PyList::empty(py);
        for r in &self.rows {
            match &r.event {
                Some(ev) => list.append(ev.clone_ref(py))?,
                None => list.append(py.None())?,
            }
        }
        Ok(Some(list))
    }

    /// The events at these positions (in this order), as another `AcceptedEvents`.
    fn take(&self, py: Python<'_>, positions: Vec<usize>) -> PyResult<AcceptedEvents> {
        let mut rows = Vec::with_capacity(positions.len());
        for p in positions {
            let Some(r) = self.rows.get(p) else {
                return Err(pyo3::exceptions::PyIndexError::new_err("position out of range"));
            };
            rows.push(Row {
                event_id: r.event_id.clone(),
                event: r.event.as_ref().map(|ev| ev.clone_ref(py)),
                ..*r
            });
        }
        Ok(AcceptedEvents {
            body: self.body.clone_ref(py),
            rows,
            orgs: self.orgs.clone_ref(py),
            products: self.products.clone_ref(py),
            sessions: self.sessions.clone_ref(py),
            made_events: self.made_events,
        })
    }

    /// `bus.codec.checked_bus_messages`: one `(key, head + events + "]}")`
    /// message per bus key (`org:product`, or `org:product:session`), keys in
    /// order of first appearance, each key's events in batch order. `None`
    /// when a key's message would exceed `max_bytes` (the caller splits it).
    fn bus_messages<'py>(
        &self,
        py: Python<'py>,
        head: &[u8],
        with_session: bool,
        max_bytes: usize,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let body = self.body.bind(py).as_bytes();
        let mut group_of: HashMap<(u32, u32, u32), usize> = HashMap::new();
        let mut groups: Vec<((u32, u32, u32), Vec<&Row>, usize)> = Vec::new();
        for r in &self.rows {
            let key = (r.org, r.product, if with_session { r.session } else { 0 });
            let g = *group_of.entry(key).or_insert_with(|| {
                groups.push((key, Vec::new(), 0));
                groups.len() - 1
            });
            groups[g].1.push(r);
            groups[g].2 += (r.end - r.start) as usize;
        }
        let out = PyList::empty(py);
        for (_, rows, size) in &groups {
            // As codec._split measures a message.
            if head.len() + size + rows.len() + 2 > max_bytes && rows.len() > 1 {
                return Ok(None);
            }
        }
        for ((org, product, session), rows, size) in groups {
            let mut key = format!("{}:{}", self.orgs.text(org), self.products.text(product));
            if with_session {
                key.push(':');
                key.push_str(self.sessions.text(session));
            }
            let len = head.len() + size + rows.len() - 1 + 2;
            let value = PyBytes::new_with(py, len, |buf| {
                buf[..head.len()].copy_from_slice(head);
                let mut at = head.len();
                for (i, r) in rows.iter().enumerate() {
                    if i > 0 {
                        buf[at] = b',';
                        at += 1;
                    }
                    let raw = self.raw(body, r);
                    buf[at..at + raw.len()].copy_from_slice(raw);
                    at += raw.len();
                }
                buf[at..].copy_from_slice(b"]}");
                Ok(())
            })?;
            out.append(PyTuple::new(py, [PyBytes::new(py, key.as_bytes()).into_any(), value.into_any()])?)?;
        }
        Ok(Some(out))
    }
}

/// One `Event` from an accepted event's values; `None` where the Python
/// reference makes it: no `eventId` (derived from msgspec's encoding of the
/// event), or a `ts` the skew takes out of range.
fn made_event<'a>(
    py: Python<'_>,
    mut values: Vec<Val<'a>>,
    stamp: &[Val<'a>; 3],
    skew_us: Option<i64>,
    strings: &mut [crate::decode_py::Strings],
    event_cls: &Bound<'_, PyAny>,
) -> PyResult<Option<Py<PyAny>>> {
    // `datetime_to_ms(ts) + skew`: skew is whole milliseconds, so adding it
    // to the microseconds floors the same.
    let ts = match values[TS] {
        Val::TsUs(us) => skew_us.and_then(|s| us.checked_add(s)),
        _ => None,
    };
    let (Some(ts), false) = (ts, matches!(values[EVENT_ID], Val::Null)) else {
        return Ok(None);
    };
    values[TS] = Val::TsUs(ts);
    for (slot, v) in STAMP.iter().zip(stamp.iter()) {
        values[*slot] = v.clone();
    }
    Ok(Some(make_event(py, &values, strings, event_cls)?.unbind()))
}
