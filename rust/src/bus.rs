//! One `events.raw` message, as `core.contract.decode_bus_message` decodes
//! it: a single event in the bus format, or a batch as `serve` writes it
//! (`{"batch": {receivedAt, agentId, sdkVersion}, "events": [...]}`), every
//! event's values ready for an `Event`. Only the accepting path is native:
//! anything else (a fault, an unknown or repeated field, an event without an
//! `eventId`) is `None`, and the Python reference decodes the message, so
//! every rejection keeps its words. Producers that write the bus are ours,
//! and their messages are valid.

use crate::contract::{check_values, decode_event_values, decode_fields, value, Val, FIELDS, MAX_EVENT_BYTES};
use crate::json::{Kind, Parser};

/// `MAX_BUS_EVENT_BYTES`: an event with the server's fields.
pub const MAX_BUS_EVENT_BYTES: usize = MAX_EVENT_BYTES + 1024;
const BATCH_PREFIX: &[u8] = br#"{"batch":"#;
const EVENT_ID: usize = 9;
// The server's fields: in a single bus event, and in a batch's stamp.
const RECEIVED_AT: usize = 19;
const STAMP: [usize; 3] = [19, 20, 21];

fn accepted(values: &[Val<'_>], wire: &crate::contract::Wire<'_>) -> bool {
    !matches!(values[EVENT_ID], Val::Null) && check_values(wire).is_ok()
}

/// Every event of the message, or None: the Python reference's to decode.
pub fn decode_message(message: &[u8]) -> Option<Vec<Vec<Val<'_>>>> {
    if !message.starts_with(BATCH_PREFIX) {
        if message.len() > MAX_BUS_EVENT_BYTES {
            return None;
        }
        let (wire, values) = decode_event_values(message, true).ok()?;
        return accepted(&values, &wire).then(|| vec![values]);
    }
    let mut p = Parser::new(message);
    p.open(b'{').ok()?;
    let (mut stamp, mut events): (Option<[Val<'_>; 3]>, Option<Vec<Vec<Val<'_>>>>) = (None, None);
    let mut first = true;
    while let Some(key) = p.next_key(&mut first).ok()? {
        match &key[..] {
            b"batch" if stamp.is_none() => stamp = Some(batch_stamp(&mut p)?),
            b"events" if events.is_none() => events = Some(batch_events(&mut p)?),
            _ => return None, // unknown or repeated: the reference words it
        }
    }
    if !p.at_end() {
        return None;
    }
    let (stamp, mut events) = (stamp?, events?);
    for values in &mut events {
        for (slot, v) in STAMP.iter().zip(stamp.iter()) {
            values[*slot] = v.clone();
        }
    }
    Some(events)
}

fn batch_stamp<'a>(p: &mut Parser<'a>) -> Option<[Val<'a>; 3]> {
    if p.kind().ok()? != Kind::Object {
        return None;
    }
    p.open(b'{').ok()?;
    let mut stamp = [Val::Null, Val::Null, Val::Null];
    let mut seen = [false; 3];
    let mut first = true;
    while let Some(key) = p.next_key(&mut first).ok()? {
        let i = STAMP.iter().position(|&f| FIELDS[f].name.as_bytes() == &key[..])?;
        if seen[i] {
            return None;
        }
        seen[i] = true;
        stamp[i] = value(p, FIELDS[STAMP[i]].ty, false).ok()?;
    }
    debug_assert_eq!(STAMP[0], RECEIVED_AT);
    Some(stamp)
}

fn batch_events<'a>(p: &mut Parser<'a>) -> Option<Vec<Vec<Val<'a>>>> {
    if p.kind().ok()? != Kind::Array {
        return None;
    }
    p.open(b'[').ok()?;
    let mut events = Vec::new();
    let mut first = true;
    while p.next_item(&mut first).ok()? {
        let mut values = vec![Val::Null; FIELDS.len()];
        let wire = decode_fields(p, false, Some(&mut values)).ok()?;
        if !accepted(&values, &wire) {
            return None;
        }
        events.push(values);
    }
    (!events.is_empty()).then_some(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"eventId":"e-1","orgId":"o","productId":"p","sessionId":"s","userHash":"u","ts":"2026-11-27T10:00:00Z","eventType":"click","screenId":"S","route":"/","deviceType":"desktop"}"#;

    #[test]
    fn a_batch_gives_each_event_the_stamp_and_anything_unusual_goes_to_python() {
        let batch = format!(r#"{{"batch":{{"receivedAt":"2026-11-27T10:00:01Z","agentId":"a"}},"events":[{EVENT},{EVENT}]}}"#);
        let events = decode_message(batch.as_bytes()).expect("native");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1][RECEIVED_AT], Val::TsUs(1_795_773_601_000_000));
        assert_eq!(events[1][20], Val::Str("a".into()));
        assert_eq!(events[1][21], Val::Null);
        let single = decode_message(EVENT.as_bytes()).expect("native");
        assert_eq!(single.len(), 1);
        for python in [
            r#"{"batch":{},"events":[]}"#.to_string(),                       // no events
            format!(r#"{{"batch":{{}},"events":[{EVENT}],"x":1}}"#),           // unknown field
            format!(r#"{{"batch":{{"agentId":5}},"events":[{EVENT}]}}"#),      // wrong type
            format!(r#"{{"batch":{{}},"events":[{EVENT}]}} x"#),              // trailing bytes
            EVENT.replace(r#""eventId":"e-1","#, ""),                           // derived id
            EVENT.replace("click", "scroll").replace("}", r#","dead":true}"#), // dead on a scroll
        ] {
            assert!(decode_message(python.as_bytes()).is_none(), "{python}");
        }
    }
}
