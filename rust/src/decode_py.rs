//! `frictionkit._native.decode_lines`: replay lines (the bus format) to
//! `Event` objects, as `core.contract.decode_event_lines` makes them, with
//! the same reasons for the lines it rejects. One pass per line: the strict
//! scanner of `contract.rs` checks every field and keeps its value, and the
//! `Event` is made from those values with one call, where the Python path
//! made a msgspec struct, a datetime per timestamp, and then the `Event`.
//! Repeated strings (an org, a screen, a route) are made once per call, not
//! once per event.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use hashbrown::HashMap;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::contract::{Scalar, Val, FIELDS};
use crate::lines::{decode_line, Line};

/// `Event`'s positional arguments, as indices into `FIELDS`.
const EVENT_ARGS: [usize; 22] = [9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 18];
const _: () = assert!(FIELDS.len() == 22);

/// Strings made for one argument, reused while their text repeats: an org,
/// a screen, a route recur across events, and one object per distinct text
/// is less work and less memory (open sessions hold their events). Bounded:
/// emptied when it reaches `MAX_CACHED` entries.
#[derive(Default)]
pub(crate) struct Strings {
    made: HashMap<Box<str>, Py<PyString>>,
}

const MAX_CACHED: usize = 4096;

impl Strings {
    fn get<'py>(&mut self, py: Python<'py>, text: &str) -> Bound<'py, PyString> {
        if let Some(obj) = self.made.get(text) {
            return obj.bind(py).clone();
        }
        if self.made.len() >= MAX_CACHED {
            self.made.clear();
        }
        let obj = PyString::new(py, text);
        self.made.insert(text.into(), obj.clone().unbind());
        obj
    }
}

/// Arguments whose strings are distinct per event or per session (the event
/// id, the session id, the user) are not cached.
const UNCACHED: [usize; 3] = [0, 3, 4];

fn scalar<'py>(py: Python<'py>, v: &Scalar<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Scalar::Null => py.None().into_bound(py),
        Scalar::Str(s) => PyString::new(py, s).into_any(),
        Scalar::Int(text) => match text.parse::<i64>() {
            Ok(i) => PyInt::new(py, i).into_any(),
            // Beyond 64 bits: Python's int keeps it exactly, as msgspec does.
            Err(_) => py.get_type::<PyInt>().call1((*text,))?,
        },
        Scalar::Float(f) => PyFloat::new(py, *f).into_any(),
        Scalar::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
    })
}

fn value<'py>(py: Python<'py>, v: &Val<'_>, strings: &mut Strings, cache: bool) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Val::Null => py.None().into_bound(py),
        Val::Str(s) if cache => strings.get(py, s).into_any(),
        Val::Str(s) => PyString::new(py, s).into_any(),
        // `datetime_to_ms`: sub-millisecond digits are floored.
        Val::TsUs(us) => PyInt::new(py, us.div_euclid(1000)).into_any(),
        Val::Num(f) => PyFloat::new(py, *f).into_any(),
        Val::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        // `wire.extra or None`: an empty object is no extra.
        Val::Extra(items) if items.is_empty() => py.None().into_bound(py),
        Val::Extra(items) => {
            let d = PyDict::new(py);
            for (key, _, v) in items {
                d.set_item(key, scalar(py, v)?)?;
            }
            d.into_any()
        }
    })
}

/// One `Event` from its fields' values (in `FIELDS` order).
pub(crate) fn make_event<'py>(py: Python<'py>, values: &[Val<'_>], strings: &mut [Strings], event_cls: &Bound<'py, PyAny>)
                   -> PyResult<Bound<'py, PyAny>> {
    let mut args = Vec::with_capacity(EVENT_ARGS.len());
    for (arg, &field) in EVENT_ARGS.iter().enumerate() {
        args.push(value(py, &values[field], &mut strings[arg], !UNCACHED.contains(&arg))?);
    }
    event_cls.call1(PyTuple::new(py, args)?)
}

pub(crate) fn string_caches() -> Vec<Strings> {
    (0..EVENT_ARGS.len()).map(|_| Strings::default()).collect()
}

/// The events of one `events.raw` message, or None where the Python
/// reference decodes it (see `bus.rs`).
#[pyfunction]
pub fn decode_bus_message<'py>(py: Python<'py>, message: &Bound<'py, PyBytes>, event_cls: &Bound<'py, PyAny>)
                               -> PyResult<Option<Bound<'py, PyList>>> {
    let bytes = message.as_bytes();
    let decoded = catch_unwind(AssertUnwindSafe(|| crate::bus::decode_message(bytes)))
        .map_err(|_| PyRuntimeError::new_err("frictionkit._native.decode_bus_message: internal error (a bug)"))?;
    let Some(all) = decoded else { return Ok(None) };
    let mut strings = string_caches();
    let events = PyList::empty(py);
    for values in &all {
        events.append(make_event(py, values, &mut strings, event_cls)?)?;
    }
    Ok(Some(events))
}

/// The events of the accepted lines, in order, with `None` where a line is
/// the Python reference's to decode; `(index, reason)` per rejected line;
/// `(index, position in events)` per line left to the reference.
#[pyfunction]
#[pyo3(signature = (lines, now_ms, event_cls))]
pub fn decode_lines<'py>(
    py: Python<'py>,
    lines: &Bound<'py, PyList>,
    now_ms: Option<i64>,
    event_cls: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>, Bound<'py, PyList>)> {
    let events = PyList::empty(py);
    let errors = PyList::empty(py);
    let fallback = PyList::empty(py);
    let mut strings = string_caches();
    for (index, line) in lines.iter().enumerate() {
        let line = line.cast::<PyBytes>().map_err(|_| PyTypeError::new_err("lines: expected bytes"))?;
        let bytes = line.as_bytes();
        // A panic here is a bug; it still must not unwind into the interpreter.
        let decoded = catch_unwind(AssertUnwindSafe(|| decode_line(bytes, now_ms)))
            .map_err(|_| PyRuntimeError::new_err("frictionkit._native.decode_lines: internal error (a bug)"))?;
        match decoded {
            Ok(values) => events.append(make_event(py, &values, &mut strings, event_cls)?)?,
            Err(Line::Rejected(reason)) => errors.append((index, reason))?,
            Err(_) => {
                fallback.append((index, events.len()))?;
                events.append(py.None())?;
            }
        }
    }
    Ok((events, errors, fallback))
}
