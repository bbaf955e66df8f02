//! `frictionkit._native`: the native processing core (issue 17), reached from
//! Python through `frictionkit.native`. Fact rows cross the boundary as Arrow
//! record batches (the Arrow C data interface); no Python object is made per
//! event.

mod batch;
mod bus;
mod checked_py;
mod contract;
mod decode_py;
mod events_py;
mod facts;
mod facts_arrow;
mod facts_py;
mod json;
mod lines;
mod sessionizer;
mod sessionizer_py;
mod timestamp;

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyList, PyString, PyTuple};

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

/// `core.batch.check_batch` on a body (given `event_cls`, the accepted
/// events' `Event`s are made too, from the same scan): `None` where only the Python reference
/// can word the answer (malformed JSON), a `str` for a batch error, else
/// `(agent_id, sdk_version, skew_ms, accepted, errors, all_event_ids)` with
/// the accepted events (`AcceptedEvents`: their spans of the body and bus
/// keys), the `Event <i>: <reason>` list, and whether every accepted event
/// has an `eventId`.
#[pyfunction]
#[pyo3(signature = (body, received_at_ms, event_cls=None))]
fn check_batch<'py>(
    py: Python<'py>,
    body: &Bound<'py, PyBytes>,
    received_at_ms: i64,
    event_cls: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let data = body.as_bytes();
    let keep_values = event_cls.is_some();
    let outcome = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| {
            batch::check_batch(data, received_at_ms, keep_values)
        }))
    });
    let mut checked = match outcome {
        Ok(batch::Outcome::Checked(c)) => c,
        Ok(batch::Outcome::BatchError(m)) => return Ok(PyString::new(py, &m).into_any()),
        Ok(batch::Outcome::Fallback) => return Ok(py.None().into_bound(py)),
        Err(_) => {
            return Err(PyRuntimeError::new_err(
                "frictionkit._native.check_batch: internal error (a bug)",
            ))
        }
    };
    let accepted = checked_py::AcceptedEvents::new(py, body, &mut checked, received_at_ms, event_cls)?;
    let errors = PyList::new(py, &checked.errors)?;
    let out = PyTuple::new(
        py,
        [
            PyString::new(py, &checked.agent_id).into_any(),
            PyString::new(py, &checked.sdk_version).into_any(),
            checked.skew_ms.into_pyobject(py)?.into_any(),
            Bound::new(py, accepted)?.into_any(),
            errors.into_any(),
            PyBool::new(py, checked.accepted.iter().all(|a| a.event_id.is_some()))
                .to_owned()
                .into_any(),
        ],
    )?;
    Ok(out.into_any())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_py::decode_lines, m)?)?;
    m.add_function(wrap_pyfunction!(decode_py::decode_bus_message, m)?)?;
    m.add_function(wrap_pyfunction!(check_batch, m)?)?;
    m.add_function(wrap_pyfunction!(facts_py::session_facts, m)?)?;
    m.add_function(wrap_pyfunction!(events_py::events_batch, m)?)?;
    m.add_class::<WireKey>()?;
    m.add_class::<checked_py::AcceptedEvents>()?;
    m.add_class::<sessionizer_py::PySessionizer>()?;
    m.add_class::<sessionizer_py::PyClock>()?;
    Ok(())
}
