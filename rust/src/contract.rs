//! The event contract, wire format v1 (docs/contract.md), as `core/contract.py` and
//! `core/batch.py` hold it: the same limits, the same reasons, worded byte for
//! byte as msgspec and the Python checks word them. `tests/test_native_contract.py`
//! holds this module to the Python reference.
//!
//! What msgspec would say about malformed JSON (with its byte offsets) is not
//! reproduced: such input gives `Fault::Fallback` (see `json.rs`) and the
//! caller asks the Python reference, which is kept for exactly that.

use std::borrow::Cow;

use crate::json::{reason, utf8, Fault, Kind, Parser, R};
use crate::timestamp::{parse_ts_us, TsError};

pub const MAX_EVENTS_PER_BATCH: usize = 1000;
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
pub const MAX_FUTURE_MS: i64 = 10 * 60 * 1000;
pub const SKEW_CORRECTION_THRESHOLD_MS: i64 = 5_000;
pub const MAX_EXTRA_KEYS: usize = 32;
pub const MAX_EXTRA_STRING: usize = 256;
const IN_THE_FUTURE: &str = "ts is more than 10 minutes in the future";

/// A field's type, as `WireEvent`/`BusEvent` declare it.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A string of `min..=max` code points.
    Str { min: usize, max: usize },
    /// One of these strings (a `Literal`).
    Enum(&'static [&'static str]),
    /// An RFC 3339 timestamp with a zone.
    Ts,
    /// A number >= 0 (`latencyMs`).
    NonNegative,
    /// `extra`: at most 32 keys, each value a scalar.
    Extra,
    /// `true` or `false` (`dead`).
    Bool,
}

pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    /// Required fields may not be null; optional ones may (`X | None = None`).
    pub required: bool,
    /// Only in the bus format (replay lines, `events.raw`), not from agents.
    pub bus_only: bool,
}

const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: true,
        bus_only: false,
    }
}
const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
        bus_only: false,
    }
}
const fn bus(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
        bus_only: true,
    }
}

const ID128: Ty = Ty::Str { min: 1, max: 128 };
const STR256: Ty = Ty::Str { min: 0, max: 256 };

/// The contract's fields in declaration order (msgspec names the first
/// missing required field in this order). One line adds a field; keep it in
/// step with `WireEvent`/`BusEvent` in `core/contract.py`.
pub const FIELDS: &[Field] = &[
    req("orgId", ID128),
    req("productId", ID128),
    req("sessionId", ID128),
    req("userHash", ID128),
    req("ts", Ty::Ts),
    req(
        "eventType",
        Ty::Enum(&[
            "click",
            "scroll",
            "input_meta",
            "navigation",
            "focus_change",
            "custom",
        ]),
    ),
    req("screenId", Ty::Str { min: 1, max: 256 }),
    req("route", Ty::Str { min: 0, max: 2048 }),
    req("deviceType", Ty::Enum(&["desktop", "mobile", "tablet"])),
    opt("eventId", Ty::Str { min: 1, max: 64 }),
    opt("appName", STR256),
    opt("elementType", STR256),
    opt("elementLabelHash", STR256),
    opt("errorCode", STR256),
    opt("os", STR256),
    opt("browser", STR256),
    opt("latencyMs", Ty::NonNegative),
    opt("extra", Ty::Extra),
    opt("dead", Ty::Bool),
    bus("receivedAt", Ty::Ts),
    bus("agentId", STR256),
    bus("sdkVersion", STR256),
];

// Indices into FIELDS of the values the callers read (checked by a test).
pub const ORG: usize = 0;
pub const PRODUCT: usize = 1;
pub const SESSION: usize = 2;
pub const TS: usize = 4;
pub const EVENT_TYPE: usize = 5;
pub const EVENT_ID: usize = 9;
pub const EXTRA: usize = 17;
pub const DEAD: usize = 18;
// `decode_event_at` keeps one bit per field in a u64.
const _: () = assert!(FIELDS.len() <= 64);

fn expected(ty: Ty, required: bool) -> String {
    let base = match ty {
        Ty::Str { .. } | Ty::Enum(_) => "str",
        Ty::Ts => "datetime",
        Ty::NonNegative => "float",
        Ty::Extra => "object",
        Ty::Bool => "bool",
    };
    if required {
        base.to_string()
    } else {
        format!("{base} | null")
    }
}

/// "Expected ..., got `float`" for a number too large for a float is msgspec's
/// "Number out of range" instead.
pub fn got(p: &mut Parser, kind: Kind) -> R<Kind> {
    if kind == Kind::Float {
        p.number_in_range()?;
    }
    Ok(kind)
}

fn type_error<T>(ty: Ty, required: bool, got: Kind) -> R<T> {
    reason(format!(
        "Expected `{}`, got `{}`",
        expected(ty, required),
        got.name()
    ))
}

/// One decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Null,
    Str(Cow<'a, str>),
    TsUs(i64),
    Num(f64),
    Bool(bool),
    /// `extra`: its keys in dict order, each with "is its value a string
    /// longer than 256?" (all the check needs) and the value itself.
    Extra(Vec<(String, bool, Scalar<'a>)>),
}

/// One value of `extra`, as msgspec decodes `str | int | float | bool | None`.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Str(Cow<'a, str>),
    /// An integer's digits (Python's int may be larger than 64 bits).
    Int(&'a str),
    Float(f64),
    Bool(bool),
}

/// A string as text, and its length in code points (Python's `len`).
fn text<'a>(p: &Parser<'a>, bytes: Cow<'a, [u8]>) -> R<(Cow<'a, str>, usize)> {
    Ok(match bytes {
        Cow::Borrowed(b) if p.last_ascii => {
            // SAFETY: the scanner saw every byte of `b` and none was >= 0x80
            // (`Parser::last_ascii`), so `b` is ASCII and thus valid UTF-8.
            // Checking again was a sixth of the decode's time.
            let s = unsafe { std::str::from_utf8_unchecked(b) };
            (Cow::Borrowed(s), b.len())
        }
        Cow::Borrowed(b) => {
            let s = utf8(b)?;
            (Cow::Borrowed(s), s.chars().count())
        }
        Cow::Owned(v) => {
            let s = String::from_utf8(v).map_err(|_| Fault::Utf8)?;
            let n = s.chars().count();
            (Cow::Owned(s), n)
        }
    })
}

fn decoded_str<'a>(p: &mut Parser<'a>) -> R<(Cow<'a, str>, usize)> {
    let bytes = p.string()?;
    text(p, bytes)
}

fn ts_value(text: &[u8]) -> R<i64> {
    parse_ts_us(text).map_err(|e| {
        Fault::Reason(
            match e {
                TsError::Invalid => "not an RFC 3339 timestamp with time and zone",
                TsError::NoZone => "RFC 3339 timestamp without a zone (add Z or ±hh:mm)",
            }
            .to_string(),
        )
    })
}

fn str_value<'a>(p: &Parser<'a>, bytes: Cow<'a, [u8]>, min: usize, max: usize) -> R<Val<'a>> {
    let (s, n) = text(p, bytes)?;
    if n < min {
        return reason(format!("Expected `str` of length >= {min}"));
    }
    if n > max {
        return reason(format!("Expected `str` of length <= {max}"));
    }
    Ok(Val::Str(s))
}

fn float_value(text: &str) -> R<f64> {
    if text.len() > 4000 {
        return Err(Fault::Fallback); // near Python's int digit limit
    }
    let v: f64 = text.parse().map_err(|_| Fault::Fallback)?;
    if v.is_infinite() {
        return reason("Number out of range");
    }
    Ok(v)
}

/// One value of a field; errors without the field's path.
pub fn value<'a>(p: &mut Parser<'a>, ty: Ty, required: bool) -> R<Val<'a>> {
    if p.peek() == Some(b'"') {
        // Read once: msgspec reads a string before it names a wrong type too.
        let bytes = p.string()?;
        return match ty {
            Ty::Str { min, max } => str_value(p, bytes, min, max),
            Ty::Enum(choices) => {
                let (s, _) = text(p, bytes)?;
                // (A linear look: six choices at most.)
                if choices.contains(&s.as_ref()) {
                    Ok(Val::Str(s))
                } else {
                    reason(format!("Invalid enum value {}", py_repr(&s)?))
                }
            }
            Ty::Ts => Ok(Val::TsUs(ts_value(&bytes)?)),
            _ => type_error(ty, required, Kind::Str),
        };
    }
    let kind = p.kind()?;
    if kind == Kind::Null && !required {
        p.literal()?;
        return Ok(Val::Null);
    }
    match (ty, kind) {
        (Ty::NonNegative, Kind::Int | Kind::Float) => {
            let v = float_value(p.number()?.1)?;
            if v < 0.0 {
                return reason("Expected `float` >= 0.0");
            }
            Ok(Val::Num(v))
        }
        (Ty::Extra, Kind::Object) => extra(p),
        (Ty::Bool, Kind::Bool) => Ok(Val::Bool(p.literal()? == b't')),
        _ => type_error(ty, required, got(p, kind)?),
    }
}

fn extra<'a>(p: &mut Parser<'a>) -> R<Val<'a>> {
    p.open(b'{')?;
    let mut keys: Vec<(String, bool, Scalar<'a>)> = Vec::new();
    let mut first = true;
    while let Some(key) = p.next_key(&mut first)? {
        let key = utf8(&key)?.to_string();
        let (long, value) = match p.kind()? {
            Kind::Str => {
                let (s, n) = decoded_str(p)?;
                (n > MAX_EXTRA_STRING, Scalar::Str(s))
            }
            Kind::Int | Kind::Float => {
                let (float, text) = p.number()?;
                if !float {
                    // Any integer is kept exactly (a Python int), up to Python's digit limit.
                    if text.len() > 4000 {
                        return Err(Fault::Fallback);
                    }
                    (false, Scalar::Int(text))
                } else {
                    let v = float_value(text).map_err(|e| match e {
                        Fault::Reason(m) => Fault::Item(m),
                        other => other,
                    })?;
                    (false, Scalar::Float(v))
                }
            }
            Kind::Bool => (false, Scalar::Bool(p.literal()? == b't')),
            Kind::Null => {
                p.literal()?;
                (false, Scalar::Null)
            }
            got => {
                return Err(Fault::Item(format!(
                    "Expected `bool | int | float | str | null`, got `{}`",
                    got.name()
                )))
            }
        };
        // A repeated key keeps its first place and takes the last value (a dict).
        match keys.iter_mut().find(|(k, _, _)| *k == key) {
            Some(slot) => {
                slot.1 = long;
                slot.2 = value;
            }
            None => keys.push((key, long, value)),
        }
    }
    if keys.len() > MAX_EXTRA_KEYS {
        return reason(format!("Expected `object` of length <= {MAX_EXTRA_KEYS}"));
    }
    Ok(Val::Extra(keys))
}

fn prefixed(fault: Fault, path: &str) -> Fault {
    match fault {
        Fault::Reason(m) => Fault::Reason(format!("{path}: {m}")),
        Fault::Item(m) => Fault::Reason(format!("{path}[...]: {m}")),
        other => other,
    }
}

/// Python's `repr` of a str, for the enum message; non-ASCII falls back
/// (Python's notion of printable is the Unicode database's).
fn py_repr(s: &str) -> R<String> {
    if !s.is_ascii() {
        return Err(Fault::Fallback);
    }
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    Ok(out)
}

/// A decoded event: what the callers read of it (the bus key, the event
/// id, the event time, and the first `extra` key whose string is too long);
/// every other field is checked and let go.
#[derive(Debug, Default, PartialEq)]
pub struct Wire<'a> {
    pub org_id: Cow<'a, str>,
    pub product_id: Cow<'a, str>,
    pub session_id: Cow<'a, str>,
    pub event_id: Option<Cow<'a, str>>,
    pub ts_us: i64,
    pub long_extra: Option<String>,
    pub event_type: Cow<'a, str>,
    /// `dead` was sent as true or false (not null, not left out).
    pub dead: bool,
}

impl<'a> Wire<'a> {
    /// Keep what the callers read; a repeated field's last value wins.
    fn keep(&mut self, field: usize, value: Val<'a>) {
        let text = |v: Val<'a>| match v {
            Val::Str(s) => Some(s),
            _ => None,
        };
        match field {
            ORG => self.org_id = text(value).unwrap_or_default(),
            PRODUCT => self.product_id = text(value).unwrap_or_default(),
            SESSION => self.session_id = text(value).unwrap_or_default(),
            EVENT_ID => self.event_id = text(value),
            EVENT_TYPE => self.event_type = text(value).unwrap_or_default(),
            DEAD => self.dead = matches!(value, Val::Bool(_)),
            TS => self.ts_us = if let Val::TsUs(t) = value { t } else { 0 },
            EXTRA => {
                self.long_extra = match value {
                    Val::Extra(keys) => keys.into_iter().find(|(_, long, _)| *long).map(|(k, _, _)| k),
                    _ => None,
                }
            }
            _ => {}
        }
    }
}

/// The event at the parser's position, as `WireEvent` (or `BusEvent` with
/// `bus`) decodes it; the parser ends after it when it is accepted.
pub fn decode_event_at<'a>(p: &mut Parser<'a>, bus: bool) -> R<Wire<'a>> {
    decode_fields(p, bus, None)
}

/// One event's JSON alone (a replay line, a bus event), as `decode_event_at`,
/// and every field's value too (in `FIELDS` order, `Val::Null` for a field
/// left out): what an `Event` is made of.
pub fn decode_event_values<'a>(json: &'a [u8], bus: bool) -> R<(Wire<'a>, Vec<Val<'a>>)> {
    let mut p = Parser::new(json);
    let mut values = vec![Val::Null; FIELDS.len()];
    let wire = decode_fields(&mut p, bus, Some(&mut values))?;
    if !p.at_end() {
        return Err(Fault::Fallback);
    }
    Ok((wire, values))
}

pub fn decode_fields<'a>(p: &mut Parser<'a>, bus: bool, mut values: Option<&mut Vec<Val<'a>>>) -> R<Wire<'a>> {
    let kind = p.kind()?;
    if kind != Kind::Object {
        return reason(format!("Expected `object`, got `{}`", got(p, kind)?.name()));
    }
    p.open(b'{')?;
    let mut wire = Wire::default();
    let mut seen = 0u64; // one bit per field of FIELDS
    let mut first = true;
    // Producers write their fields in one order: the field after the last
    // one is tried first, and the table is searched only when it is not it.
    let mut next = 0usize;
    while let Some(key) = p.next_key(&mut first)? {
        let is = |f: &Field| f.name.as_bytes() == &key[..] && (bus || !f.bus_only);
        let found = match FIELDS.get(next) {
            Some(f) if is(f) => Some(next),
            _ => FIELDS.iter().position(is),
        };
        let Some(i) = found else {
            return reason(format!("Object contains unknown field `{}`", utf8(&key)?));
        };
        next = i + 1;
        let f = &FIELDS[i];
        let v = value(p, f.ty, f.required).map_err(|e| prefixed(e, f.name))?;
        if let Some(vs) = values.as_deref_mut() {
            vs[i] = v.clone();
        }
        wire.keep(i, v);
        seen |= 1 << i;
    }
    if let Some(f) = FIELDS
        .iter()
        .enumerate()
        .find(|(i, f)| f.required && seen & (1 << i) == 0)
        .map(|(_, f)| f)
    {
        return reason(format!("Object missing required field `{}`", f.name));
    }
    Ok(wire)
}

/// `_check_values`: what msgspec cannot express (`dead` on a click only,
/// extra strings longer than 256; non-finite numbers cannot come out of JSON
/// decoding), in its order.
pub fn check_values(wire: &Wire) -> R<()> {
    if wire.dead && wire.event_type != "click" {
        return reason(format!(
            "dead: only click events can be dead, not {}",
            wire.event_type
        ));
    }
    if let Some(key) = &wire.long_extra {
        let short: String = key.chars().take(64).collect();
        return reason(format!(
            "extra.{short}: string longer than {MAX_EXTRA_STRING}"
        ));
    }
    Ok(())
}

pub fn too_large() -> Fault {
    Fault::Reason(format!(
        "event is larger than {} KiB",
        MAX_EVENT_BYTES / 1024
    ))
}

/// `_check_wire` on a decoded event, against the first too-late instant
/// (UTC microseconds).
pub fn check_wire(wire: &Wire, too_late_us: i64) -> R<()> {
    if wire.ts_us >= too_late_us {
        return reason(IN_THE_FUTURE);
    }
    check_values(wire)
}

#[cfg(test)]
#[path = "contract_tests.rs"]
mod tests;
