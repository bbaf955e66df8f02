//! Replay lines (JSONL in the bus format: the agent's fields plus `receivedAt`,
//! `agentId` and `sdkVersion`), as `core.contract.decode_event_line` checks
//! each: the size limit, the decode, the future check against `now_ms`, then
//! the checks msgspec cannot express. Unlike a batch body, a line's syntax
//! faults are its own, so a line the scanner cannot word goes to the
//! reference alone.

use crate::contract::{check_values, decode_event_values, too_large, Val, Wire, EVENT_ID, MAX_EVENT_BYTES,
                      MAX_FUTURE_MS};
use crate::json::Fault;

#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Accepted,
    Rejected(String),
    /// Only the Python reference can word this line.
    Fallback,
}

fn rejected(fault: Fault) -> Line {
    match fault {
        Fault::Reason(m) => Line::Rejected(m),
        Fault::Utf8 => Line::Rejected("invalid UTF-8 in a JSON string".into()),
        _ => Line::Fallback,
    }
}

/// The checks after the decode: the future (against `now_ms`), then `check_values`.
fn verdict(wire: &Wire, now_ms: Option<i64>) -> Line {
    if let Some(now) = now_ms {
        // `datetime_to_ms(ts) > now_ms + 10 min`, in i128 as Python's ints.
        if i128::from(wire.ts_us.div_euclid(1000)) > i128::from(now) + i128::from(MAX_FUTURE_MS) {
            return Line::Rejected("ts is more than 10 minutes in the future".into());
        }
    }
    match check_values(wire) {
        Ok(()) => Line::Accepted,
        Err(fault) => rejected(fault),
    }
}

/// One line decoded for its `Event`: every field's value in `FIELDS`
/// order when accepted. A line without an `eventId` is `Fallback` too: its
/// id is derived from msgspec's encoding of the whole event, in Python.
pub fn decode_line(line: &[u8], now_ms: Option<i64>) -> Result<Vec<Val<'_>>, Line> {
    if line.len() > MAX_EVENT_BYTES {
        return Err(rejected(too_large()));
    }
    let (wire, values) = decode_event_values(line, true).map_err(rejected)?;
    match verdict(&wire, now_ms) {
        Line::Accepted if matches!(values[EVENT_ID], Val::Null) => Err(Line::Fallback),
        Line::Accepted => Ok(values),
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"eventId":"e-0","orgId":"o","productId":"p","sessionId":"s","userHash":"u","ts":"2026-11-27T10:00:00Z","eventType":"click","screenId":"S","route":"/","deviceType":"desktop","receivedAt":"2026-11-27T10:00:01.5Z","agentId":"a","sdkVersion":"1.0""#;
    const NOW_MS: i64 = 1_795_773_600_000; // 2026-11-27T10:00:00Z

    fn line(extra: &str) -> Vec<u8> {
        format!("{LINE}{extra}}}").into_bytes()
    }

    /// The line's verdict, as replay sees it.
    fn check_line(line: &[u8], now_ms: Option<i64>) -> Line {
        decode_line(line, now_ms).map(|_| Line::Accepted).unwrap_or_else(|verdict| verdict)
    }

    #[test]
    fn a_bus_line_and_its_limits() {
        assert_eq!(check_line(&line(""), Some(NOW_MS)), Line::Accepted);
        assert_eq!(
            check_line(&line(""), Some(NOW_MS - 600_000)),
            Line::Accepted
        );
        assert_eq!(
            check_line(&line(""), Some(NOW_MS - 600_001)),
            Line::Rejected("ts is more than 10 minutes in the future".into())
        );
        assert_eq!(check_line(&line(""), None), Line::Accepted);
        assert_eq!(
            check_line(&line(r#","agentId":5"#), None),
            Line::Rejected("agentId: Expected `str | null`, got `int`".into())
        );
        let big = line(&format!(r#","appName":"{}""#, "x".repeat(MAX_EVENT_BYTES)));
        assert_eq!(
            check_line(&big, None),
            Line::Rejected("event is larger than 32 KiB".into())
        );
        assert_eq!(check_line(&line("x"), None), Line::Fallback); // msgspec words the syntax fault
        assert_eq!(check_line(b"", None), Line::Fallback);
    }

    #[test]
    fn a_decoded_line_keeps_every_value_and_leaves_derived_ids_to_python() {
        use crate::contract::{Scalar, FIELDS};
        let with_id = line(r#","eventId":"e-1","latencyMs":5,"extra":{"a":"x","n":12345678901234567890123,"a":1.5,"b":null}"#);
        let values = decode_line(&with_id, None).expect("accepted");
        let field = |name: &str| &values[FIELDS.iter().position(|f| f.name == name).unwrap()];
        assert_eq!(field("eventId"), &Val::Str("e-1".into()));
        assert_eq!(field("latencyMs"), &Val::Num(5.0), "an integer latency is a float, as msgspec makes it");
        assert_eq!(field("ts"), &Val::TsUs(1_795_773_600_000_000));
        assert_eq!(field("appName"), &Val::Null);
        let Val::Extra(items) = field("extra") else { panic!("extra") };
        let items: Vec<_> = items.iter().map(|(k, _, v)| (k.as_str(), v.clone())).collect();
        assert_eq!(items, vec![("a", Scalar::Float(1.5)), ("n", Scalar::Int("12345678901234567890123")),
                               ("b", Scalar::Null)], "a repeated key keeps its place and takes the last value");
        let without_id = String::from_utf8(line("")).unwrap().replace(r#""eventId":"e-0","#, "");
        assert_eq!(decode_line(without_id.as_bytes(), None), Err(Line::Fallback), "no eventId: derived in Python");
        assert_eq!(decode_line(&line(r#","eventId":"""#), None),
                   Err(Line::Rejected("eventId: Expected `str` of length >= 1".into())));
        assert_eq!(decode_line(&line(r#","eventId":"e","x":1"#), None),
                   Err(Line::Rejected("Object contains unknown field `x`".into())));
    }
}
