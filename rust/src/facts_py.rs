//! `frictionkit._native.session_facts`: closed `Session` objects in, the four
//! fact tables' rows out as Arrow record batches (the columns of
//! `store/arrow.py`'s tables, in their order). The Python objects are read
//! once, under the GIL; the rules and the columns are built with it released.

use std::panic::{catch_unwind, AssertUnwindSafe};

use arrow_pyarrow::ToPyArrow;
use hashbrown::HashSet;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::facts::{process, Action, Config, Ev, Facts, Kind, Segment, SessionIn};

const MAX_VALUE_CHARS: usize = 256; // core/segment.py: an app version is cut to this

fn text(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> PyResult<String> {
    let v = obj.getattr(name)?;
    v.cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{name}: expected str, got {}", v.get_type().name().map(|n| n.to_string()).unwrap_or_default())))?
        .to_str()
        .map(str::to_owned)
}

fn opt_text(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> PyResult<Option<String>> {
    let v = obj.getattr(name)?;
    if v.is_none() {
        return Ok(None);
    }
    Ok(Some(v.cast::<PyString>().map_err(|_| PyTypeError::new_err(format!("{name}: expected str or None")))?.to_str()?.to_owned()))
}

/// `extra[key]` when it is a str (any other type never matches a rule).
fn extra_str(extra: Option<&Bound<'_, PyDict>>, key: &Bound<'_, PyString>) -> PyResult<Option<String>> {
    let Some(d) = extra else { return Ok(None) };
    match d.get_item(key)? {
        Some(v) => match v.cast::<PyString>() {
            Ok(s) => Ok(Some(s.to_str()?.to_owned())),
            Err(_) => Ok(None),
        },
        None => Ok(None),
    }
}

fn read_event<'py>(py: Python<'py>, e: &Bound<'py, PyAny>) -> PyResult<(Ev, Option<Bound<'py, PyDict>>)> {
    let kind_text = text(e, intern!(py, "event_type"))?;
    let kind = match kind_text.as_str() {
        "click" => Kind::Click,
        "navigation" => Kind::Navigation,
        "focus_change" => Kind::FocusChange,
        _ => Kind::Other,
    };
    let extra_obj = e.getattr(intern!(py, "extra"))?;
    let extra = if extra_obj.is_none() { None } else { Some(extra_obj.cast_into::<PyDict>().map_err(|_| PyTypeError::new_err("extra: expected dict or None"))?) };
    // Truthiness, as the reference reads them: `if ev.error_code`, `ev.dead`.
    let has_error = opt_text(e, intern!(py, "error_code"))?.is_some_and(|s| !s.is_empty());
    let dead = e.getattr(intern!(py, "dead"))?.is_truthy()?;
    let route = text(e, intern!(py, "route"))?;
    let extra_ref = extra.as_ref().filter(|d| !d.is_empty());
    let focus_state = extra_str(extra_ref, intern!(py, "state"))?.as_deref() == Some("focus");
    let marker = if kind_text == "custom" { task_marker(py, extra_ref, &route)? } else { None };
    let ev = Ev {
        event_id: text(e, intern!(py, "event_id"))?,
        ts_ms: e.getattr(intern!(py, "ts_ms"))?.extract()?,
        kind,
        screen_id: text(e, intern!(py, "screen_id"))?,
        route,
        element_type: opt_text(e, intern!(py, "element_type"))?,
        element_label_hash: opt_text(e, intern!(py, "element_label_hash"))?,
        has_error,
        dead,
        focus_state,
        marker,
    };
    Ok((ev, extra))
}

/// tests/reference/tasks.py `task_marker` (a custom event with extra).
fn task_marker(py: Python<'_>, extra: Option<&Bound<'_, PyDict>>, route: &str) -> PyResult<Option<(String, Action)>> {
    let Some(name) = extra_str(extra, intern!(py, "task_name"))?.filter(|n| !n.is_empty()) else { return Ok(None) };
    let action = match extra_str(extra, intern!(py, "action"))?.as_deref() {
        Some("start") => Some(Action::Start),
        Some("complete") => Some(Action::Complete),
        Some("fail") => Some(Action::Fail),
        // Legacy agents put the action in the route.
        _ if route.contains("task_start") => Some(Action::Start),
        _ if route.contains("task_complete") => Some(Action::Complete),
        _ if route.contains("task_fail") => Some(Action::Fail),
        _ => None,
    };
    Ok(action.map(|a| (name, a)))
}

fn read_session(py: Python<'_>, s: &Bound<'_, PyAny>) -> PyResult<SessionIn> {
    let list = s.getattr(intern!(py, "events"))?;
    let list = list.cast::<PyList>().map_err(|_| PyTypeError::new_err("Session.events: expected a list"))?;
    if list.is_empty() {
        return Err(PyTypeError::new_err("Session.events: a closed session has events"));
    }
    let mut events = Vec::with_capacity(list.len());
    let mut first_extra = None;
    for (i, e) in list.iter().enumerate() {
        let (ev, extra) = read_event(py, &e)?;
        if i == 0 {
            first_extra = extra;
        }
        events.push(ev);
    }
    let first = list.get_item(0)?;
    // core.segment: extra.app_version when a non-empty str, else sdkVersion.
    let app_version = match extra_str(first_extra.as_ref(), intern!(py, "app_version"))?.filter(|v| !v.is_empty()) {
        Some(v) => Some(v.chars().take(MAX_VALUE_CHARS).collect()),
        None => opt_text(&first, intern!(py, "sdk_version"))?,
    };
    Ok(SessionIn {
        org_id: text(s, intern!(py, "org_id"))?,
        product_id: text(s, intern!(py, "product_id"))?,
        client_session_id: text(s, intern!(py, "client_session_id"))?,
        session_id: text(s, intern!(py, "session_id"))?,
        user_hash: text(&first, intern!(py, "user_hash"))?,
        segment: Segment {
            device_type: opt_text(&first, intern!(py, "device_type"))?,
            browser: opt_text(&first, intern!(py, "browser"))?,
            os: opt_text(&first, intern!(py, "os"))?,
            app_name: opt_text(&first, intern!(py, "app_name"))?,
            app_version,
        },
        events,
    })
}

fn strings(v: &Bound<'_, PyAny>) -> PyResult<HashSet<String>> {
    v.try_iter()?.map(|x| x?.extract::<String>()).collect()
}

fn read_config(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<Config> {
    let i = config.getattr(intern!(py, "incidents"))?;
    let s = config.getattr(intern!(py, "scores"))?;
    let int = |o: &Bound<'_, PyAny>, n: &str| -> PyResult<i64> { o.getattr(n)?.extract() };
    let float = |n: &str| -> PyResult<f64> { s.getattr(n)?.extract() };
    Ok(Config {
        rage_min_clicks: int(&i, "rage_min_clicks")?,
        rage_max_interval_ms: int(&i, "rage_max_interval_ms")?,
        rage_excluded_label_hashes: strings(&i.getattr("rage_excluded_label_hashes")?)?,
        rage_excluded_element_types: strings(&i.getattr("rage_excluded_element_types")?)?,
        backtrack_max_dwell_ms: int(&i, "backtrack_max_dwell_ms")?,
        abandon_after_ms: int(&i, "abandon_after_ms")?,
        error_click_window_ms: int(&i, "error_click_window_ms")?,
        loop_max_navigations: int(&i, "loop_max_navigations")?,
        loop_max_duration_ms: int(&i, "loop_max_duration_ms")?,
        frustration_scale: float("frustration_scale")?,
        frustration_offset: float("frustration_offset")?,
        weight_rage_clicks: float("weight_rage_clicks")?,
        weight_backtracks: float("weight_backtracks")?,
        weight_error_events: float("weight_error_events")?,
        weight_tasks_abandoned: float("weight_tasks_abandoned")?,
        weight_tasks_failed: float("weight_tasks_failed")?,
        weight_loops: float("weight_loops")?,
        weight_dead_clicks: float("weight_dead_clicks")?,
        efficiency_scale: float("efficiency_scale")?,
        efficiency_offset: float("efficiency_offset")?,
        weight_completion: float("weight_completion")?,
        weight_clicks: float("weight_clicks")?,
        weight_navigation: float("weight_navigation")?,
        target_clicks_per_task: float("target_clicks_per_task")?,
    })
}

#[pyfunction]
pub fn session_facts<'py>(
    py: Python<'py>,
    sessions: &Bound<'py, PyList>,
    config: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    let config = read_config(py, config)?;
    let inputs: Vec<SessionIn> = sessions.iter().map(|s| read_session(py, &s)).collect::<PyResult<_>>()?;
    let built = py.detach(|| {
        // A panic here is a bug; it still must not unwind into the interpreter.
        catch_unwind(AssertUnwindSafe(|| {
            let facts: Vec<Facts> = inputs.iter().map(|s| process(s, &config)).collect();
            crate::facts_arrow::batches(&inputs, &facts)
        }))
    });
    let batches = match built {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Err(PyRuntimeError::new_err(format!("session_facts: {e}"))),
        Err(_) => return Err(PyRuntimeError::new_err("frictionkit._native.session_facts: internal error (a bug)")),
    };
    let objs = batches.iter().map(|b| b.to_pyarrow(py)).collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, objs)
}
