//! Replay lines (JSONL in the bus format: the agent's fields plus `receivedAt`,
//! `agentId` and `sdkVersion`), as `core.contract.decode_event_line` checks
//! each: the size limit, the decode, the future check against `now_ms`, then
//! the checks msgspec cannot express. Unlike a batch body, a line's syntax
//! faults are its own, so a line the scanner cannot word goes to the
//! reference alone.

use crate::contract::{check_values, decode_event, too_large, MAX_EVENT_BYTES, MAX_FUTURE_MS};
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

/// One line; `now_ms` as `decode_event_line` takes it (None: no future check).
pub fn check_line(line: &[u8], now_ms: Option<i64>) -> Line {
    if line.len() > MAX_EVENT_BYTES {
        return rejected(too_large());
    }
    let wire = match decode_event(line, true) {
        Ok(w) => w,
        Err(fault) => return rejected(fault),
    };
    if let Some(now) = now_ms {
        // `datetime_to_ms(ts) > now_ms + 10 min`, in i128 as Python's ints.
        if i128::from(wire.ts_us.div_euclid(1000)) > i128::from(now) + i128::from(MAX_FUTURE_MS) {
            return Line::Rejected("ts is more than 10 minutes in the future".into());
        }
    }
    match check_values(&wire) {
        Ok(()) => Line::Accepted,
        Err(fault) => rejected(fault),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"orgId":"o","productId":"p","sessionId":"s","userHash":"u","ts":"2026-11-27T10:00:00Z","eventType":"click","screenId":"S","route":"/","deviceType":"desktop","receivedAt":"2026-11-27T10:00:01.5Z","agentId":"a","sdkVersion":"1.0""#;
    const NOW_MS: i64 = 1_795_773_600_000; // 2026-11-27T10:00:00Z

    fn line(extra: &str) -> Vec<u8> {
        format!("{LINE}{extra}}}").into_bytes()
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
}
