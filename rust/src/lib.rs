//! `frictionkit._native`: the native processing core (issue 17), reached from
//! Python through `frictionkit.native`. Arrays cross the boundary through the
//! Arrow C data interface; no Python object is made per event.

mod batch;
mod contract;
mod facts;
mod facts_arrow;
mod facts_py;
mod json;
mod lines;
mod sessionize;
mod timestamp;

use std::panic::{catch_unwind, AssertUnwindSafe};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::ArrayRef;
use arrow_array::{make_array, Array, Int64Array, LargeStringArray, StringArray};
use arrow_pyarrow::{FromPyArrow, ToPyArrow};
use arrow_schema::DataType;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyList, PyString, PyTuple};

fn import_array(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<ArrayRef> {
    let data = arrow_data::ArrayData::from_pyarrow_bound(obj)
        .map_err(|e| PyTypeError::new_err(format!("{name}: not an Arrow array ({e})")))?;
    Ok(make_array(data))
}

fn int64_column<'a>(array: &'a ArrayRef, name: &str) -> PyResult<&'a Int64Array> {
    if array.data_type() != &DataType::Int64 {
        return Err(PyTypeError::new_err(format!(
            "{name}: expected int64, got {}",
            array.data_type()
        )));
    }
    if array.null_count() > 0 {
        return Err(PyValueError::new_err(format!(
            "{name}: {} null value(s)",
            array.null_count()
        )));
    }
    Ok(array.as_primitive::<Int64Type>())
}

fn string_column<'a>(array: &'a ArrayRef, name: &str) -> PyResult<Vec<&'a str>> {
    if array.null_count() > 0 {
        return Err(PyValueError::new_err(format!(
            "{name}: {} null value(s)",
            array.null_count()
        )));
    }
    match array.data_type() {
        DataType::Utf8 => Ok(array
            .as_any()
            .downcast_ref::<StringArray>()
            .into_iter()
            .flatten()
            .flatten()
            .collect()),
        DataType::LargeUtf8 => Ok(array
            .as_any()
            .downcast_ref::<LargeStringArray>()
            .into_iter()
            .flatten()
            .flatten()
            .collect()),
        other => Err(PyTypeError::new_err(format!(
            "{name}: expected string, got {other}"
        ))),
    }
}

/// Per event, its session's sequence number within its key (an int64 array;
/// null for a duplicate event id of the key). See `sessionize::session_seqs`.
#[pyfunction]
#[pyo3(signature = (keys, ts_ms, event_ids, gap_ms, max_length_ms))]
fn session_seqs<'py>(
    py: Python<'py>,
    keys: &Bound<'py, PyAny>,
    ts_ms: &Bound<'py, PyAny>,
    event_ids: &Bound<'py, PyAny>,
    gap_ms: i64,
    max_length_ms: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let (keys_arr, ts_arr, ids_arr) = (
        import_array(keys, "keys")?,
        import_array(ts_ms, "ts_ms")?,
        import_array(event_ids, "event_ids")?,
    );
    let keys_col = int64_column(&keys_arr, "keys")?;
    let ts_col = int64_column(&ts_arr, "ts_ms")?;
    let ids_col = string_column(&ids_arr, "event_ids")?;
    let (k, t) = (keys_col.values().as_ref(), ts_col.values().as_ref());
    let result = py.detach(|| {
        // A panic here is a bug; it still must not unwind into the interpreter.
        catch_unwind(AssertUnwindSafe(|| {
            sessionize::session_seqs(k, t, &ids_col, gap_ms, max_length_ms)
        }))
    });
    let seqs = match result {
        Ok(Ok(seqs)) => seqs,
        Ok(Err(msg)) => return Err(PyValueError::new_err(msg)),
        Err(_) => {
            return Err(PyRuntimeError::new_err(
                "frictionkit._native.session_seqs: internal error (a bug)",
            ))
        }
    };
    let out: Int64Array = seqs.into_iter().map(|s| s.map(|v| v as i64)).collect();
    out.into_data().to_pyarrow(py)
}

/// What the Kafka path of `serve` needs of an accepted event: its bus key
/// (and its `eventId`, made a str only when asked for).
#[pyclass(frozen, module = "frictionkit._native")]
struct WireKey {
    #[pyo3(get)]
    org_id: Py<PyString>,
    #[pyo3(get)]
    product_id: Py<PyString>,
    #[pyo3(get)]
    session_id: Py<PyString>,
    event_id: Option<Box<str>>,
}

#[pymethods]
impl WireKey {
    #[getter]
    fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }
}

/// One str per run of equal values: a batch's events mostly share their org,
/// product and session, and a str made once is cheaper than one per event.
struct Interned {
    last: Option<(String, Py<PyString>)>,
}

impl Interned {
    fn get(&mut self, py: Python<'_>, text: &str) -> Py<PyString> {
        if let Some((s, obj)) = &self.last {
            if s == text {
                return obj.clone_ref(py);
            }
        }
        let obj = PyString::new(py, text).unbind();
        self.last = Some((text.to_string(), obj.clone_ref(py)));
        obj
    }
}

/// `core.batch.check_batch` on a body: `None` where only the Python reference
/// can word the answer (malformed JSON), a `str` for a batch error, else
/// `(agent_id, sdk_version, skew_ms, raws, keys, errors, all_event_ids)` with
/// each accepted event's JSON (bytes) and `WireKey`, the `Event <i>: <reason>`
/// list, and whether every accepted event has an `eventId`.
#[pyfunction]
fn check_batch<'py>(
    py: Python<'py>,
    body: &Bound<'py, PyBytes>,
    received_at_ms: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let data = body.as_bytes();
    let outcome = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| {
            batch::check_batch(data, received_at_ms)
        }))
    });
    let checked = match outcome {
        Ok(batch::Outcome::Checked(c)) => c,
        Ok(batch::Outcome::BatchError(m)) => return Ok(PyString::new(py, &m).into_any()),
        Ok(batch::Outcome::Fallback) => return Ok(py.None().into_bound(py)),
        Err(_) => {
            return Err(PyRuntimeError::new_err(
                "frictionkit._native.check_batch: internal error (a bug)",
            ))
        }
    };
    let (mut orgs, mut products, mut sessions) = (
        Interned { last: None },
        Interned { last: None },
        Interned { last: None },
    );
    let raws = PyList::empty(py);
    let keys = PyList::empty(py);
    for a in &checked.accepted {
        raws.append(PyBytes::new(py, &data[a.start..a.end]))?;
        let key = WireKey {
            org_id: orgs.get(py, &a.org_id),
            product_id: products.get(py, &a.product_id),
            session_id: sessions.get(py, &a.session_id),
            event_id: a.event_id.as_deref().map(Box::from),
        };
        keys.append(Bound::new(py, key)?)?;
    }
    let errors = PyList::new(py, &checked.errors)?;
    let out = PyTuple::new(
        py,
        [
            PyString::new(py, &checked.agent_id).into_any(),
            PyString::new(py, &checked.sdk_version).into_any(),
            checked.skew_ms.into_pyobject(py)?.into_any(),
            raws.into_any(),
            keys.into_any(),
            errors.into_any(),
            PyBool::new(py, checked.accepted.iter().all(|a| a.event_id.is_some()))
                .to_owned()
                .into_any(),
        ],
    )?;
    Ok(out.into_any())
}

/// `core.contract.decode_event_line` on each line, without making its event:
/// per line `None` (accepted), its reason (a str), or `False` where only the
/// Python reference can word the answer (a syntax fault, say).
#[pyfunction]
#[pyo3(signature = (lines, now_ms))]
fn check_lines<'py>(
    py: Python<'py>,
    lines: Vec<Bound<'py, PyBytes>>,
    now_ms: Option<i64>,
) -> PyResult<Bound<'py, PyList>> {
    let data: Vec<&[u8]> = lines.iter().map(|b| b.as_bytes()).collect();
    let outcome = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| {
            data.iter()
                .map(|line| lines::check_line(line, now_ms))
                .collect::<Vec<_>>()
        }))
    });
    let Ok(verdicts) = outcome else {
        return Err(PyRuntimeError::new_err(
            "frictionkit._native.check_lines: internal error (a bug)",
        ));
    };
    let out = PyList::empty(py);
    for verdict in verdicts {
        match verdict {
            lines::Line::Accepted => out.append(py.None())?,
            lines::Line::Rejected(reason) => out.append(PyString::new(py, &reason))?,
            lines::Line::Fallback => out.append(false)?,
        }
    }
    Ok(out)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(check_lines, m)?)?;
    m.add_function(wrap_pyfunction!(session_seqs, m)?)?;
    m.add_function(wrap_pyfunction!(check_batch, m)?)?;
    m.add_function(wrap_pyfunction!(facts_py::session_facts, m)?)?;
    m.add_class::<WireKey>()?;
    Ok(())
}
