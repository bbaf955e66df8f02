//! The event contract, wire format v1 (SPEC §3), as `core/contract.py` and
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
    /// `true` or `false` (no field uses it yet; one for the next optional flag).
    #[allow(dead_code)]
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
    bus("receivedAt", Ty::Ts),
    bus("agentId", STR256),
    bus("sdkVersion", STR256),
];

// Indices into FIELDS of the values the callers read (checked by a test).
pub const ORG: usize = 0;
pub const PRODUCT: usize = 1;
pub const SESSION: usize = 2;
pub const TS: usize = 4;
pub const EVENT_ID: usize = 9;
pub const EXTRA: usize = 17;

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
    /// longer than 256?" (all the Python check needs), and its raw JSON.
    Extra(Vec<(String, bool)>, usize, usize),
}

fn decoded_str<'a>(p: &mut Parser<'a>) -> R<Cow<'a, str>> {
    Ok(match p.string()? {
        Cow::Borrowed(b) => Cow::Borrowed(utf8(b)?),
        Cow::Owned(v) => Cow::Owned(String::from_utf8(v).map_err(|_| Fault::Utf8)?),
    })
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

fn str_value<'a>(p: &mut Parser<'a>, min: usize, max: usize) -> R<Val<'a>> {
    let s = decoded_str(p)?;
    let n = s.chars().count();
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
    let kind = p.kind()?;
    if kind == Kind::Null && !required {
        p.literal()?;
        return Ok(Val::Null);
    }
    match (ty, kind) {
        (Ty::Str { min, max }, Kind::Str) => str_value(p, min, max),
        (Ty::Enum(choices), Kind::Str) => {
            let s = decoded_str(p)?;
            if choices.contains(&s.as_ref()) {
                Ok(Val::Str(s))
            } else {
                reason(format!("Invalid enum value {}", py_repr(&s)?))
            }
        }
        (Ty::Ts, Kind::Str) => Ok(Val::TsUs(ts_value(&p.string()?)?)),
        (Ty::NonNegative, Kind::Int | Kind::Float) => {
            let v = float_value(p.number()?.1)?;
            if v < 0.0 {
                return reason("Expected `float` >= 0.0");
            }
            Ok(Val::Num(v))
        }
        (Ty::Extra, Kind::Object) => extra(p),
        (Ty::Bool, Kind::Bool) => Ok(Val::Bool(p.literal()? == b't')),
        _ => type_error(ty, required, kind),
    }
}

fn extra<'a>(p: &mut Parser<'a>) -> R<Val<'a>> {
    p.ws();
    let start = p.pos;
    p.open(b'{')?;
    let mut keys: Vec<(String, bool)> = Vec::new();
    let mut first = true;
    while let Some(key) = p.next_key(&mut first)? {
        let key = utf8(&key)?.to_string();
        let long = match p.kind()? {
            Kind::Str => decoded_str(p)?.chars().count() > MAX_EXTRA_STRING,
            Kind::Int | Kind::Float => {
                let (float, text) = p.number()?;
                if !float {
                    // Any integer is kept exactly (a Python int), up to Python's digit limit.
                    if text.len() > 4000 {
                        return Err(Fault::Fallback);
                    }
                } else {
                    float_value(text).map_err(|e| match e {
                        Fault::Reason(m) => Fault::Item(m),
                        other => other,
                    })?;
                }
                false
            }
            Kind::Bool | Kind::Null => {
                p.literal()?;
                false
            }
            got => {
                return Err(Fault::Item(format!(
                    "Expected `bool | int | float | str | null`, got `{}`",
                    got.name()
                )))
            }
        };
        // A repeated key keeps its first place and takes the last value (a dict).
        match keys.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = long,
            None => keys.push((key, long)),
        }
    }
    if keys.len() > MAX_EXTRA_KEYS {
        return reason(format!("Expected `object` of length <= {MAX_EXTRA_KEYS}"));
    }
    Ok(Val::Extra(keys, start, p.pos))
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

/// A decoded event: each field's value (`Val::Null` where absent).
pub struct Wire<'a> {
    pub values: Vec<Val<'a>>,
}

impl<'a> Wire<'a> {
    pub fn str(&self, field: usize) -> Option<&str> {
        match self.values.get(field) {
            Some(Val::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn ts_us(&self) -> i64 {
        match self.values.get(TS) {
            Some(Val::TsUs(t)) => *t,
            _ => 0,
        }
    }
}

/// One event's JSON as `WireEvent` (or `BusEvent` with `bus`) decodes it.
pub fn decode_event<'a>(json: &'a [u8], bus: bool) -> R<Wire<'a>> {
    let mut p = Parser::new(json);
    let kind = p.kind()?;
    if kind != Kind::Object {
        return reason(format!("Expected `object`, got `{}`", kind.name()));
    }
    p.open(b'{')?;
    let mut values = vec![Val::Null; FIELDS.len()];
    let mut seen = vec![false; FIELDS.len()];
    let mut first = true;
    while let Some(key) = p.next_key(&mut first)? {
        let key = utf8(&key)?;
        let Some(i) = FIELDS
            .iter()
            .position(|f| f.name == key && (bus || !f.bus_only))
        else {
            return reason(format!("Object contains unknown field `{key}`"));
        };
        let f = &FIELDS[i];
        values[i] = value(&mut p, f.ty, f.required).map_err(|e| prefixed(e, f.name))?;
        seen[i] = true;
    }
    if !p.at_end() {
        return Err(Fault::Fallback);
    }
    if let Some(f) = FIELDS
        .iter()
        .zip(&seen)
        .find(|(f, s)| f.required && !**s)
        .map(|(f, _)| f)
    {
        return reason(format!("Object missing required field `{}`", f.name));
    }
    Ok(Wire { values })
}

/// `_check_values`: what msgspec cannot express (extra strings longer than 256;
/// non-finite numbers cannot come out of JSON decoding).
pub fn check_values(wire: &Wire) -> R<()> {
    if let Some(Val::Extra(keys, ..)) = wire.values.get(EXTRA) {
        if let Some((key, _)) = keys.iter().find(|(_, long)| *long) {
            let short: String = key.chars().take(64).collect();
            return reason(format!(
                "extra.{short}: string longer than {MAX_EXTRA_STRING}"
            ));
        }
    }
    Ok(())
}

/// `decode_one`'s size limit, then the decode, then `_check_wire` against the
/// first too-late instant (UTC microseconds).
pub fn check_event(json: &[u8], too_late_us: i64) -> R<Wire<'_>> {
    if json.len() > MAX_EVENT_BYTES {
        return reason(format!(
            "event is larger than {} KiB",
            MAX_EVENT_BYTES / 1024
        ));
    }
    let wire = decode_event(json, false)?;
    if wire.ts_us() >= too_late_us {
        return reason(IN_THE_FUTURE);
    }
    check_values(&wire)?;
    Ok(wire)
}

#[cfg(test)]
#[path = "contract_tests.rs"]
mod tests;
