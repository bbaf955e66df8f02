//! `frictionkit._native.events_batch`: `Event` objects to the `events_raw`
//! columns (`store/arrow.py` EVENT_COLUMNS, their names, types and order) as
//! one Arrow record batch, for both stores. It replaces a Python list per
//! column: each event's fields are read once, here, and no Python object is
//! made per event. `extra`, rare and free-form, is encoded by the encoder
//! it is given (msgspec's, as before), so its JSON is byte for byte the same.

use arrow_pyarrow::ToPyArrow;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::facts_arrow::{Col, Table};

// (name, kind): s str, o optional str, t timestamp, T optional timestamp,
// f optional float, x extra (JSON), b optional bool. EVENT_COLUMNS' order.
const COLUMNS: [(&str, char); 22] = [
    ("org_id", 's'), ("product_id", 's'), ("session_id", 's'), ("event_id", 's'), ("user_hash", 's'),
    ("ts", 't'), ("event_type", 's'), ("screen_id", 's'), ("route", 's'), ("device_type", 's'),
    ("app_name", 'o'), ("element_type", 'o'), ("element_label_hash", 'o'), ("error_code", 'o'), ("os", 'o'),
    ("browser", 'o'), ("latency_ms", 'f'), ("extra", 'x'), ("received_at", 'T'), ("agent_id", 'o'),
    ("sdk_version", 'o'), ("dead", 'b'),
];

fn attr_name(py: Python<'_>, column: &str) -> Py<PyString> {
    // The Event field behind each column (two are stored under other names).
    let field = match column {
        "ts" => "ts_ms",
        "received_at" => "received_at_ms",
        other => other,
    };
    PyString::intern(py, field).unbind()
}

fn expect_str<'a>(v: &'a Bound<'_, PyAny>, name: &str) -> PyResult<&'a str> {
    v.cast::<PyString>().map_err(|_| PyTypeError::new_err(format!("{name}: expected str")))?.to_str()
}

#[pyfunction]
pub fn events_batch<'py>(py: Python<'py>, events: &Bound<'py, PyList>, encode_extra: &Bound<'py, PyAny>)
                         -> PyResult<Bound<'py, PyAny>> {
    let names: Vec<Py<PyString>> = COLUMNS.iter().map(|(c, _)| attr_name(py, c)).collect();
    // The Arrow type of each kind of column: str, timestamp, float, bool.
    let spec: Vec<(&str, char)> = COLUMNS
        .iter()
        .map(|&(name, kind)| (name, match kind {
            's' | 'o' | 'x' => 's',
            't' | 'T' => 't',
            other => other,
        }))
        .collect();
    let mut table = Table::new(&spec);
    for ev in events.iter() {
        for (i, &(column, kind)) in COLUMNS.iter().enumerate() {
            let v = ev.getattr(names[i].bind(py))?;
            match (&mut table.cols[i], kind) {
                (Col::Str(b), 's') => b.append_value(expect_str(&v, column)?),
                (Col::Str(b), 'o') => {
                    if v.is_none() { b.append_null() } else { b.append_value(expect_str(&v, column)?) }
                }
                (Col::Str(b), _) => {
                    // `encode(e.extra).decode() if e.extra else None`
                    if v.is_truthy()? {
                        let json = encode_extra.call1((v,))?;
                        let bytes = json.cast::<PyBytes>().map_err(|_| PyTypeError::new_err("extra: the encoder must give bytes"))?;
                        let text = std::str::from_utf8(bytes.as_bytes())
                            .map_err(|_| PyRuntimeError::new_err("extra: the encoder gave invalid UTF-8"))?;
                        b.append_value(text);
                    } else {
                        b.append_null();
                    }
                }
                (Col::Ts(b), _) => {
                    if v.is_none() { b.append_null() } else { b.append_value(v.extract::<i64>()?) }
                }
                (Col::F64(b), _) => {
                    if v.is_none() { b.append_null() } else { b.append_value(v.extract::<f64>()?) }
                }
                (Col::Bool(b), _) => {
                    if v.is_none() { b.append_null() } else { b.append_value(v.is_truthy()?) }
                }
                _ => unreachable!("the spec above gives each kind its column"),
            }
        }
    }
    let batch = table.finish().map_err(|e| PyRuntimeError::new_err(format!("events_batch: {e}")))?;
    batch.to_pyarrow(py)
}
