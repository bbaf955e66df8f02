//! A `POST /v1/events/batch` body, as `core/batch.py`'s `check_batch` checks it:
//! the batch's own fields (`WireBatch`: unknown fields ignored, the last of a
//! repeated field wins), clock skew, then each event alone through the
//! contract, rejected alone with `Event <i>: <reason>`.

use crate::contract::Val;
use crate::contract::{
    check_event, value, Ty, Wire, EVENT_ID, MAX_EVENTS_PER_BATCH, MAX_FUTURE_MS, ORG, PRODUCT,
    SESSION, SKEW_CORRECTION_THRESHOLD_MS,
};
use crate::json::{reason, Fault, Kind, Parser, R};
use crate::timestamp::days_from_civil;

/// An accepted event: where its JSON is in the body, and what the bus key
/// and the passthrough need.
#[derive(Debug, PartialEq)]
pub struct Accepted {
    pub start: usize,
    pub end: usize,
    pub org_id: String,
    pub product_id: String,
    pub session_id: String,
    pub event_id: Option<String>,
    pub ts_us: i64,
}

#[derive(Debug, PartialEq)]
pub struct Checked {
    pub agent_id: String,
    pub sdk_version: String,
    pub skew_ms: i64,
    pub accepted: Vec<Accepted>,
    /// `Event <i>: <reason>`, in batch order.
    pub errors: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Checked(Checked),
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

fn events(p: &mut Parser) -> R<Vec<(usize, usize)>> {
    let kind = p.kind()?;
    if kind != Kind::Array {
        return reason(format!("events: Expected `array`, got `{}`", kind.name()));
    }
    p.open(b'[')?;
    let mut spans = Vec::new();
    let mut first = true;
    while p.next_item(&mut first)? {
        spans.push(p.skip(2)?);
    }
    if spans.is_empty() {
        return reason("events: Expected `array` of length >= 1");
    }
    if spans.len() > MAX_EVENTS_PER_BATCH {
        return reason(format!(
            "events: Expected `array` of length <= {MAX_EVENTS_PER_BATCH}"
        ));
    }
    Ok(spans)
}

struct Head {
    agent_id: String,
    sdk_version: String,
    sent_at_us: Option<i64>,
    spans: Vec<(usize, usize)>,
}

fn head(p: &mut Parser) -> R<Head> {
    let kind = p.kind()?;
    if kind != Kind::Object {
        return reason(format!("Expected `object`, got `{}`", kind.name()));
    }
    p.open(b'{')?;
    let (mut agent_id, mut sdk_version, mut sent_at_us, mut spans) = (None, None, None, None);
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
            b"events" => spans = Some(events(p)?),
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
    let Some(spans) = spans else {
        return reason("Object missing required field `events`");
    };
    Ok(Head {
        agent_id,
        sdk_version,
        sent_at_us,
        spans,
    })
}

/// The first and last UTC milliseconds a Python `datetime` can hold.
fn datetime_range_ms() -> (i64, i64) {
    (
        days_from_civil(1, 1, 1) * 86_400_000,
        days_from_civil(10_000, 1, 1) * 86_400_000 - 1,
    )
}

/// `check_batch(body, received_at_ms=...)`.
pub fn check_batch(body: &[u8], received_at_ms: i64) -> Outcome {
    let mut p = Parser::new(body);
    let head = match head(&mut p) {
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
    let mut accepted = Vec::with_capacity(head.spans.len());
    let mut errors = Vec::new();
    for (index, &(start, end)) in head.spans.iter().enumerate() {
        match check_event(&body[start..end], too_late_us) {
            Ok(wire) => accepted.push(accept(&wire, start, end)),
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

fn accept(wire: &Wire, start: usize, end: usize) -> Accepted {
    let s = |i| wire.str(i).unwrap_or_default().to_string();
    Accepted {
        start,
        end,
        org_id: s(ORG),
        product_id: s(PRODUCT),
        session_id: s(SESSION),
        event_id: wire.str(EVENT_ID).map(str::to_string),
        ts_us: wire.ts_us(),
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
