//! Unit tests of `contract.rs`.

use super::*;

#[test]
fn the_indices_name_their_fields() {
    let names: Vec<_> = [ORG, PRODUCT, SESSION, TS, EVENT_TYPE, EVENT_ID, EXTRA, DEAD]
        .iter()
        .map(|&i| FIELDS[i].name)
        .collect();
    assert_eq!(
        names,
        ["orgId", "productId", "sessionId", "ts", "eventType", "eventId", "extra", "dead"]
    );
}

#[test]
fn dead_is_for_clicks_only_and_null_is_no_mark() {
    let ev = |kind: &str, dead: &str| {
        format!(r#"{{"orgId":"o","productId":"p","sessionId":"s","userHash":"u","ts":"2026-11-27T09:59:00Z","eventType":"{kind}","screenId":"S","route":"/","deviceType":"desktop","dead":{dead}}}"#)
    };
    let verdict = |json: String| decode_event_values(json.as_bytes(), false).and_then(|(w, _)| check_values(&w));
    assert!(verdict(ev("click", "true")).is_ok());
    assert!(verdict(ev("click", "false")).is_ok());
    assert!(verdict(ev("scroll", "null")).is_ok());
    assert!(matches!(verdict(ev("scroll", "false")),
        Err(Fault::Reason(m)) if m == "dead: only click events can be dead, not scroll"));
    assert!(matches!(verdict(ev("click", "1")), Err(Fault::Reason(m)) if m.starts_with("dead: Expected `bool | null`")));
}

#[test]
fn the_bus_format_adds_the_server_fields() {
    let line = br#"{"orgId":"o","productId":"p","sessionId":"s","userHash":"u","ts":"2026-11-27T09:59:00Z","eventType":"click","screenId":"S","route":"/","deviceType":"desktop","receivedAt":"2026-11-27T10:00:00Z","agentId":"a"}"#;
    assert!(decode_event_values(line, true).is_ok());
    assert_eq!(
        decode_event_values(line, false).err(),
        Some(Fault::Reason(
            "Object contains unknown field `receivedAt`".into()
        ))
    );
}

#[test]
fn python_repr_of_enum_values() {
    assert_eq!(py_repr("a").unwrap(), "'a'");
    assert_eq!(py_repr("a'b").unwrap(), "\"a'b\"");
    assert_eq!(py_repr("a'\"b").unwrap(), "'a\\'\"b'");
    assert_eq!(py_repr("a\nb\\\u{1}").unwrap(), "'a\\nb\\\\\\x01'");
    assert_eq!(py_repr("é"), Err(Fault::Fallback));
}
