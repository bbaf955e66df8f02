//! `frictionkit._native.Sessionizer`: the sessionizer of `sessionizer.rs`
//! holding the `Event` objects it is fed, and handing them back in closed
//! `Session`s (built by the class it is given, `core.model.Session`). Five
//! fields are read per event; no Python object is made per event.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::sessionizer::{session_id_for, Clock, Closed, Config, KeyRef, Sessionizer, Status};

type Item = Py<PyAny>;

fn str_of<'a>(v: &'a Bound<'_, PyAny>, name: &str) -> PyResult<&'a str> {
    v.cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{name}: expected str")))?
        .to_str()
}

/// The fields the sessionizer reads from an event.
struct Fields<'py> {
    org: Bound<'py, PyAny>,
    product: Bound<'py, PyAny>,
    session: Bound<'py, PyAny>,
    id: Bound<'py, PyAny>,
    ts_ms: i64,
}

impl<'py> Fields<'py> {
    fn read(ev: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = ev.py();
        Ok(Fields {
            org: ev.getattr(intern!(py, "org_id"))?,
            product: ev.getattr(intern!(py, "product_id"))?,
            session: ev.getattr(intern!(py, "session_id"))?,
            id: ev.getattr(intern!(py, "event_id"))?,
            ts_ms: ev.getattr(intern!(py, "ts_ms"))?.extract()?,
        })
    }

    fn key(&self) -> PyResult<KeyRef<'_>> {
        Ok(KeyRef(str_of(&self.org, "org_id")?, str_of(&self.product, "product_id")?, str_of(&self.session, "session_id")?))
    }

    fn id(&self) -> PyResult<&str> {
        str_of(&self.id, "event_id")
    }
}

fn key_of<'a>(key: &'a Bound<'_, PyAny>) -> PyResult<(Bound<'a, PyAny>, Bound<'a, PyAny>, Bound<'a, PyAny>)> {
    let t = key.cast::<PyTuple>().map_err(|_| PyTypeError::new_err("a session key is a tuple (org_id, product_id, session_id)"))?;
    if t.len() != 3 {
        return Err(PyValueError::new_err("a session key is a tuple (org_id, product_id, session_id)"));
    }
    Ok((t.get_item(0)?, t.get_item(1)?, t.get_item(2)?))
}

fn with_key<R>(key: &Bound<'_, PyAny>, f: impl FnOnce(KeyRef<'_>) -> R) -> PyResult<R> {
    let (a, b, c) = key_of(key)?;
    Ok(f(KeyRef(str_of(&a, "org_id")?, str_of(&b, "product_id")?, str_of(&c, "session_id")?)))
}

const ACCEPTED: u8 = 0;
const DUPLICATE: u8 = 1;
const LATE: u8 = 2;

fn status_name(py: Python<'_>, status: Status) -> Bound<'_, PyString> {
    match status {
        Status::Accepted => intern!(py, "accepted").clone(),
        Status::Duplicate => intern!(py, "duplicate").clone(),
        Status::Late => intern!(py, "late").clone(),
    }
}

#[pyclass(module = "frictionkit._native", name = "Sessionizer")]
pub struct PySessionizer {
    inner: Sessionizer<Item>,
    session_cls: Py<PyAny>,
}

impl PySessionizer {
    fn sessions<'py>(&self, py: Python<'py>, closed: Vec<Closed<Item>>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        let cls = self.session_cls.bind(py);
        for c in closed {
            let client = PyString::new(py, &c.key.session_id);
            let session_id = if c.seq == 1 { client.clone() } else { PyString::new(py, &session_id_for(&c.key.session_id, c.seq)) };
            let events = PyList::new(py, c.events.into_iter().map(|e| e.item))?;
            let args = (PyString::new(py, &c.key.org_id), PyString::new(py, &c.key.product_id), client, session_id, c.seq, events);
            out.append(cls.call1(args)?)?;
        }
        Ok(out)
    }
}

#[pymethods]
impl PySessionizer {
    #[new]
    #[pyo3(signature = (session_cls, gap_ms, max_length_ms, allowed_lateness_ms, key_retention_ms, idle_after_ms=None))]
    fn new(session_cls: Py<PyAny>, gap_ms: i64, max_length_ms: i64, allowed_lateness_ms: i64, key_retention_ms: i64,
           idle_after_ms: Option<i64>) -> Self {
        let config = Config { gap_ms, max_length_ms, allowed_lateness_ms, key_retention_ms, idle_after_ms };
        PySessionizer { inner: Sessionizer::new(config), session_cls }
    }

    /// One event arrived at wall-clock `now_ms`: "accepted", "duplicate" or "late".
    #[pyo3(signature = (ev, now_ms=None))]
    fn on_event<'py>(&mut self, ev: &Bound<'py, PyAny>, now_ms: Option<i64>) -> PyResult<Bound<'py, PyString>> {
        let f = Fields::read(ev)?;
        let status = self.inner.on_event(f.key()?, f.ts_ms, f.id()?, now_ms, || ev.clone().unbind());
        Ok(status_name(ev.py(), status))
    }

    /// A chunk of events arrived at `now_ms`: one status byte per event
    /// (0 accepted, 1 duplicate, 2 late), and the keys that were not held
    /// before this chunk, in the order they first appear.
    #[pyo3(signature = (events, now_ms=None))]
    fn on_events<'py>(&mut self, py: Python<'py>, events: &Bound<'py, PyList>, now_ms: Option<i64>)
                      -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyList>)> {
        let mut statuses = Vec::with_capacity(events.len());
        let fresh = PyList::empty(py);
        for ev in events.iter() {
            let f = Fields::read(&ev)?;
            let key = f.key()?;
            if !self.inner.has_key(key) {
                fresh.append(PyTuple::new(py, [&f.org, &f.product, &f.session])?)?;
            }
            let status = self.inner.on_event(key, f.ts_ms, f.id()?, now_ms, || ev.clone().unbind());
            statuses.push(match status {
                Status::Accepted => ACCEPTED,
                Status::Duplicate => DUPLICATE,
                Status::Late => LATE,
            });
        }
        Ok((PyBytes::new(py, &statuses), fresh))
    }

    fn has_key(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        with_key(key, |k| self.inner.has_key(k))
    }

    /// Stored history of keys this logic does not hold (no late check).
    fn preload(&mut self, events: &Bound<'_, PyAny>) -> PyResult<()> {
        for ev in events.try_iter()? {
            let ev = ev?;
            let f = Fields::read(&ev)?;
            self.inner.preload(f.key()?, f.ts_ms, f.id()?, || ev.clone().unbind());
        }
        Ok(())
    }

    fn forget(&mut self, keys: &Bound<'_, PyAny>) -> PyResult<()> {
        for key in keys.try_iter()? {
            let key = key?;
            with_key(&key, |k| self.inner.forget(k))?;
        }
        Ok(())
    }

    #[pyo3(signature = (watermark_ts_ms=None, *, now_ms=None))]
    fn advance<'py>(&mut self, py: Python<'py>, watermark_ts_ms: Option<i64>, now_ms: Option<i64>)
                    -> PyResult<Bound<'py, PyList>> {
        let closed = self.inner.advance(watermark_ts_ms, now_ms);
        self.sessions(py, closed)
    }

    fn close_all<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let closed = self.inner.close_all();
        self.sessions(py, closed)
    }

    #[getter]
    fn max_ts_ms(&self) -> Option<i64> {
        self.inner.clock.max_ts_ms
    }

    #[getter]
    fn watermark_ts_ms(&self) -> Option<i64> {
        self.inner.clock.watermark_ts_ms
    }

    #[getter]
    fn closed_until_ts_ms(&self) -> Option<i64> {
        self.inner.closed_until_ts_ms
    }

    #[getter]
    fn open_events(&self) -> usize {
        self.inner.open_events()
    }

    #[getter]
    fn open_keys(&self) -> usize {
        self.inner.open_keys()
    }

    /// Plain data (the clock, and per key its open events and closed
    /// marker), enough for `restore` on a new sessionizer to continue.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let keys = PyList::empty(py);
        for k in self.inner.snapshot() {
            let key = PyList::new(py, [&*k.key.org_id, &*k.key.product_id, &*k.key.session_id])?;
            let events = PyList::new(py, k.events.iter().map(|e| e.item.clone_ref(py)))?;
            keys.append((key, events, k.closed_count, k.closed_start_ts_ms, k.closed_last_ts_ms))?;
        }
        let out = PyDict::new(py);
        out.set_item("clock", clock_dict(py, &self.inner.clock)?)?;
        out.set_item("keys", keys)?;
        Ok(out)
    }

    fn restore(&mut self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.clock = clock_from(&state.get_item("clock")?)?;
        for entry in state.get_item("keys")?.try_iter()? {
            let entry = entry?;
            let (key, events, count, start, last): (Bound<'_, PyAny>, Bound<'_, PyAny>, i64, Option<i64>, Option<i64>) =
                entry.extract()?;
            let mut held = Vec::new();
            for ev in events.try_iter()? {
                let ev = ev?;
                let f = Fields::read(&ev)?;
                held.push((f.ts_ms, f.id()?.to_owned(), ev.clone().unbind()));
            }
            let (a, b, c) = (key.get_item(0)?, key.get_item(1)?, key.get_item(2)?);
            let k = KeyRef(str_of(&a, "org_id")?, str_of(&b, "product_id")?, str_of(&c, "session_id")?);
            self.inner.restore_key(k, held, count, start, last);
        }
        Ok(())
    }
}

fn clock_dict<'py>(py: Python<'py>, c: &Clock) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("max_ts_ms", c.max_ts_ms)?;
    d.set_item("last_arrival_ms", c.last_arrival_ms)?;
    d.set_item("watermark_ts_ms", c.watermark_ts_ms)?;
    Ok(d)
}

fn clock_from(state: &Bound<'_, PyAny>) -> PyResult<Clock> {
    Ok(Clock {
        max_ts_ms: state.get_item("max_ts_ms")?.extract()?,
        last_arrival_ms: state.get_item("last_arrival_ms")?.extract()?,
        watermark_ts_ms: state.get_item("watermark_ts_ms")?.extract()?,
    })
}

/// `frictionkit._native.EventClock`: the clock alone (the sessionizer holds
/// one), for callers and tests that only need time.
#[pyclass(module = "frictionkit._native", name = "EventClock")]
pub struct PyClock {
    clock: Clock,
    allowed_lateness_ms: i64,
    idle_after_ms: Option<i64>,
}

#[pymethods]
impl PyClock {
    #[new]
    #[pyo3(signature = (allowed_lateness_ms, idle_after_ms=None))]
    fn new(allowed_lateness_ms: i64, idle_after_ms: Option<i64>) -> Self {
        PyClock { clock: Clock::default(), allowed_lateness_ms, idle_after_ms }
    }

    #[pyo3(signature = (ts_ms, now_ms=None))]
    fn on_event(&mut self, ts_ms: i64, now_ms: Option<i64>) {
        self.clock.on_event(ts_ms, now_ms)
    }

    fn watermark(&mut self) -> Option<i64> {
        self.clock.watermark(self.allowed_lateness_ms)
    }

    fn advance_to(&mut self, watermark_ts_ms: i64) -> i64 {
        self.clock.advance_to(watermark_ts_ms)
    }

    #[pyo3(signature = (now_ms=None))]
    fn quiet(&self, now_ms: Option<i64>) -> bool {
        self.clock.quiet(now_ms, self.idle_after_ms)
    }

    #[pyo3(signature = (now_ms=None))]
    fn close_until(&mut self, now_ms: Option<i64>) -> Option<i64> {
        self.clock.close_until(now_ms, self.allowed_lateness_ms, self.idle_after_ms)
    }

    fn on_eof(&mut self) -> i64 {
        self.clock.on_eof()
    }

    fn is_late(&self, ts_ms: i64) -> bool {
        self.clock.is_late(ts_ms)
    }

    #[getter]
    fn max_ts_ms(&self) -> Option<i64> {
        self.clock.max_ts_ms
    }

    #[getter]
    fn last_arrival_ms(&self) -> Option<i64> {
        self.clock.last_arrival_ms
    }

    #[getter]
    fn watermark_ts_ms(&self) -> Option<i64> {
        self.clock.watermark_ts_ms
    }

    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        clock_dict(py, &self.clock)
    }

    fn restore(&mut self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        self.clock = clock_from(state)?;
        Ok(())
    }
}
