//! A `POST /v1/events/batch` body, as `core/batch.py`'s `check_batch` checks it:
//! the batch's own fields (`WireBatch`: unknown fields ignored, the last of a
//! repeated field wins), clock skew, then each event alone through the
//! contract, rejected alone with `Event <i>: <reason>`.
//!
//! One pass: each event is decoded where it stands while the body is read
//! (msgspec reads it twice, as `Raw` and then typed). An event the decoder
//! stops in is read again from its start as `Raw` is, so that a syntax fault
//! anywhere still makes the whole body the reference's.

use std::borrow::Cow;

use crate::contract::{
    check_wire, decode_event_at, decode_fields, got, too_large, value, Ty, Val, Wire, FIELDS,
    MAX_EVENTS_PER_BATCH,
    MAX_EVENT_BYTES, MAX_FUTURE_MS, SKEW_CORRECTION_THRESHOLD_MS,
};
use crate::json::{reason, Fault, Kind, Parser, R};
use crate::timestamp::days_from_civil;

/// An accepted event: where its JSON is in the body, and what the bus key
/// and the passthrough need (borrowed from the body unless escaped).
#[derive(Debug, PartialEq)]
pub struct Accepted<'a> {
    pub start: usize,
    pub end: usize,
    pub org_id: Cow<'a, str>,
    pub product_id: Cow<'a, str>,
    pub session_id: Cow<'a, str>,
    pub event_id: Option<Cow<'a, str>>,
    pub ts_us: i64,
    /// Every field's value (in `FIELDS` order) when the caller asked for
    /// them: what the event's `Event` is made of, from the same scan.
    pub values: Option<Vec<Val<'a>>>,
}

#[derive(Debug, PartialEq)]
pub struct Checked<'a> {
    pub agent_id: String,
    pub sdk_version: String,
    pub skew_ms: i64,
    pub accepted: Vec<Accepted<'a>>,
    /// `Event <i>: <reason>`, in batch order.
    pub errors: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub enum Outcome<'a> {
    Checked(Checked<'a>),
    /// The batch as a whole is malformed (`BatchError`'s message).
    BatchError(String),
    /// Only the Python reference can word this (malformed JSON and the like).
    Fallback,
}

fn field<'a>(p: &mut Parser<'a>, name: &str, ty: Ty, required: bool) -> R<Val<'a>> {
    value(p, ty, required).map_err(|e| match e {
        Fault::Reason(m) => Fault::Reason(format!("{name}: {m}")),
        other => other,
    })
}

/// An event of the body: its span, and the event (with its values, if
/// kept) or why it is rejected.
type Item<'a> = (usize, usize, R<(Wire<'a>, Option<Vec<Val<'a>>>)>);

fn one_event<'a>(p: &mut Parser<'a>, keep_values: bool) -> R<Item<'a>> {
    p.ws();
    let start = p.pos;
    let scanned = if keep_values {
        let mut values = vec![Val::Null; FIELDS.len()];
        decode_fields(p, false, Some(&mut values)).map(|wire| (wire, Some(values)))
    } else {
        decode_event_at(p, false).map(|wire| (wire, None))
    };
    let decoded = match scanned {
        Err(Fault::Fallback) => return Err(Fault::Fallback),
        Ok(wire) => Ok(wire),
        Err(why) => {
            p.pos = start;
            p.skip(2)?;
            Err(why)
        }
    };
    let end = p.pos;
    // `decode_one`: the size limit comes before the decode.
    let decoded = if end - start > MAX_EVENT_BYTES {
        Err(too_large())
    } else {
        decoded
    };
    Ok((start, end, decoded))
}

fn events<'a>(p: &mut Parser<'a>, keep_values: bool) -> R<Vec<Item<'a>>> {
    let kind = p.kind()?;
    if kind != Kind::Array {
        return reason(format!(
            "events: Expected `array`, got `{}`",
            got(p, kind)?.name()
        ));
    }
    p.open(b'[')?;
    let mut items = Vec::new();
    let mut first = true;
    while p.next_item(&mut first)? {
        items.push(one_event(p, keep_values)?);
    }
    if items.is_empty() {
        return reason("events: Expected `array` of length >= 1");
    }
    if items.len() > MAX_EVENTS_PER_BATCH {
        return reason(format!(
            "events: Expected `array` of length <= {MAX_EVENTS_PER_BATCH}"
        ));
    }
    Ok(items)
}

struct Head<'a> {
    agent_id: String,
    sdk_version: String,
    sent_at_us: Option<i64>,
    items: Vec<Item<'a>>,
}

fn head<'a>(p: &mut Parser<'a>, keep_values: bool) -> R<Head<'a>> {
    let kind = p.kind()?;
    if kind != Kind::Object {
        return reason(format!("Expected `object`, got `{}`", got(p, kind)?.name()));
    }
    p.open(b'{')?;
    let (mut agent_id, mut sdk_version, mut sent_at_us, mut items) = (None, None, None, None);
    let mut first = true;
    while let Some(key) = p.next_key(&mut first)? {
        match &key[..] {
            b"agentId" => agent_id = Some(field(p, "agentId", Ty::Str { min: 1, max: 128 }, true)?),
            b"sdkVersion" => {
                sdk_version = Some(field(p, "sdkVersion", Ty::Str { min: 1, max: 64 }, true)?)
            }
            b"sentAt" => {
                sent_at_us = match field(p, "sentAt", Ty::Ts, false)? {
                    Val::TsUs(t) => Some(t),
                    _ => None,
                }
            }
            b"events" => items = Some(events(p, keep_values)?),
            _ => {
                p.skip(1)?;
            }
        }
    }
    if !p.at_end() {
        return Err(Fault::Fallback);
    }
    let text = |v: Option<Val>, name: &str| match v {
        Some(Val::Str(s)) => Ok(s.into_owned()),
        _ => reason(format!("Object missing required field `{name}`")),
    };
    let agent_id = text(agent_id, "agentId")?;
    let sdk_version = text(sdk_version, "sdkVersion")?;
    let Some(items) = items else {
        return reason("Object missing required field `events`");
    };
    Ok(Head {
        agent_id,
        sdk_version,
        sent_at_us,
        items,
    })
}

/// The first and last UTC milliseconds a Python `datetime` can hold.
fn datetime_range_ms() -> (i64, i64) {
    (
        days_from_civil(1, 1, 1) * 86_400_000,
        days_from_civil(10_000, 1, 1) * 86_400_000 - 1,
    )
}

/// `check_batch(body, received_at_ms=...)`; with `keep_values`, each accepted
/// event's field values too (`Accepted::values`).
pub fn check_batch(body: &[u8], received_at_ms: i64, keep_values: bool) -> Outcome<'_> {
    let mut p = Parser::new(body);
    let head = match head(&mut p, keep_values) {
        Ok(h) => h,
        Err(Fault::Reason(m)) => return Outcome::BatchError(m),
        Err(Fault::Utf8) => return Outcome::BatchError("invalid UTF-8 in a JSON string".into()),
        Err(_) => return Outcome::Fallback,
    };
    // In i128: Python's ints do not overflow, whatever `received_at_ms` is.
    let mut skew_ms: i128 = 0;
    if let Some(sent_us) = head.sent_at_us {
        let diff = i128::from(received_at_ms) - i128::from(sent_us.div_euclid(1000));
        if diff.abs() > i128::from(SKEW_CORRECTION_THRESHOLD_MS) {
            skew_ms = diff;
        }
    }
    let Ok(skew_ms) = i64::try_from(skew_ms) else {
        return Outcome::Fallback;
    };
    // `_future_limit`: a datetime; Python overflows outside years 1..9999.
    let Some(limit_ms) = received_at_ms
        .checked_add(MAX_FUTURE_MS)
        .and_then(|v| v.checked_sub(skew_ms))
        .and_then(|v| v.checked_add(1))
    else {
        return Outcome::Fallback;
    };
    let (lo, hi) = datetime_range_ms();
    if limit_ms < lo || limit_ms > hi {
        return Outcome::Fallback;
    }
    let too_late_us = limit_ms * 1000;
    let mut accepted = Vec::with_capacity(head.items.len());
    let mut errors = Vec::new();
    for (index, (start, end, decoded)) in head.items.into_iter().enumerate() {
        match decoded.and_then(|(wire, values)| check_wire(&wire, too_late_us).map(|()| (wire, values))) {
            Ok((wire, values)) => accepted.push(accept(wire, values, start, end)),
            Err(Fault::Reason(m)) => errors.push(format!("Event {index}: {m}")),
            Err(Fault::Utf8) => {
                errors.push(format!("Event {index}: invalid UTF-8 in a JSON string"))
            }
            Err(_) => return Outcome::Fallback,
        }
    }
    Outcome::Checked(Checked {
        agent_id: head.agent_id,
        sdk_version: head.sdk_version,
        skew_ms,
        accepted,
        errors,
    })
}

fn accept<'a>(wire: Wire<'a>, values: Option<Vec<Val<'a>>>, start: usize, end: usize) -> Accepted<'a> {
    Accepted {
        start,
        end,
        org_id: wire.org_id,
        product_id: wire.product_id,
        session_id: wire.session_id,
        event_id: wire.event_id,
        ts_us: wire.ts_us,
        values,
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
