//! Unit tests of `batch.rs`.

use super::*;
use crate::contract::MAX_EVENT_BYTES;

const NOW_MS: i64 = 1_795_773_600_000; // 2026-11-27T10:00:00Z

fn event(extra: &str) -> String {
    format!(
        r#"{{"orgId":"o","productId":"p","sessionId":"s","userHash":"u","ts":"2026-11-27T09:59:00Z","eventType":"click","screenId":"S","route":"/","deviceType":"desktop"{extra}}}"#
    )
}

fn body(events: &[String], head: &str) -> Vec<u8> {
    format!(
        r#"{{"agentId":"a","sdkVersion":"1"{head},"events":[{}]}}"#,
        events.join(",")
    )
    .into_bytes()
}

fn check(events: &[String], head: &str) -> Outcome<'static> {
    // Leaked: the outcome borrows the body, and a test is short-lived.
    check_batch(Box::leak(body(events, head).into_boxed_slice()), NOW_MS, false)
}

/// The one event's reason, or "" if it was accepted.
fn verdict(extra: &str) -> String {
    match check(&[event(extra)], "") {
        Outcome::Checked(c) if c.errors.is_empty() => String::new(),
        Outcome::Checked(c) => c.errors[0].trim_start_matches("Event 0: ").to_string(),
        other => panic!("{other:?}"),
    }
}

fn batch_error(events: &[String], head: &str) -> String {
    match check(events, head) {
        Outcome::BatchError(m) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_valid_event_is_accepted_with_its_span_and_key() {
    let ev = event(r#","eventId":"e-1""#);
    let b = body(&[ev.clone()], "");
    let Outcome::Checked(c) = check_batch(&b, NOW_MS, false) else {
        panic!()
    };
    assert_eq!(c.errors, Vec::<String>::new());
    let a = &c.accepted[0];
    assert_eq!(&b[a.start..a.end], ev.as_bytes());
    assert_eq!(
        (
            a.org_id.as_ref(),
            a.product_id.as_ref(),
            a.session_id.as_ref()
        ),
        ("o", "p", "s")
    );
    assert_eq!(a.event_id.as_deref(), Some("e-1"));
    assert_eq!(a.ts_us, (NOW_MS - 60_000) * 1000);
}

#[test]
fn events_per_batch_1_to_1000() {
    let ev = event("");
    assert!(
        matches!(check(&vec![ev.clone(); 1000], ""), Outcome::Checked(c) if c.accepted.len() == 1000)
    );
    assert_eq!(
        batch_error(&vec![ev; 1001], ""),
        "events: Expected `array` of length <= 1000"
    );
    assert_eq!(
        batch_error(&[], ""),
        "events: Expected `array` of length >= 1"
    );
}

#[test]
fn batch_fields() {
    let ev = [event("")];
    let long = |n| "x".repeat(n);
    assert_eq!(
        batch_error(&ev, &format!(r#","agentId":"{}""#, long(129))),
        "agentId: Expected `str` of length <= 128"
    );
    assert!(matches!(
        check(&ev, &format!(r#","agentId":"{}""#, long(128))),
        Outcome::Checked(_)
    ));
    assert_eq!(
        batch_error(&ev, r#","agentId":"""#),
        "agentId: Expected `str` of length >= 1"
    );
    assert_eq!(
        batch_error(&ev, &format!(r#","sdkVersion":"{}""#, long(65))),
        "sdkVersion: Expected `str` of length <= 64"
    );
    assert_eq!(
        batch_error(&ev, r#","sentAt":5"#),
        "sentAt: Expected `datetime | null`, got `int`"
    );
    assert_eq!(
        batch_error(&ev, r#","sentAt":"2026-11-27T10:00:00""#),
        "sentAt: RFC 3339 timestamp without a zone (add Z or ±hh:mm)"
    );
    assert_eq!(
        check_batch(b"[]", NOW_MS, false),
        Outcome::BatchError("Expected `object`, got `array`".into())
    );
    assert_eq!(
        check_batch(b"{}", NOW_MS, false),
        Outcome::BatchError("Object missing required field `agentId`".into())
    );
    assert_eq!(
        check_batch(br#"{"agentId":"a\xff"}"#, NOW_MS, false),
        Outcome::Fallback
    ); // `\x` is no JSON escape
    assert_eq!(
        check_batch(b"{\"agentId\":\"a\xff\"}", NOW_MS, false),
        Outcome::BatchError("invalid UTF-8 in a JSON string".into())
    );
}

#[test]
fn event_size_limit_is_32_kib_of_json() {
    let pad = |n: usize| format!(r#","appName":"{}""#, "x".repeat(n));
    let base = event(&pad(0)).len();
    assert_eq!(verdict(&pad(0)), "");
    let exact = event(&pad(MAX_EVENT_BYTES - base)); // exactly 32 KiB: only appName's length is wrong
    assert_eq!(exact.len(), MAX_EVENT_BYTES);
    assert_eq!(
        verdict(&pad(MAX_EVENT_BYTES - base)),
        "appName: Expected `str` of length <= 256"
    );
    assert_eq!(
        verdict(&pad(MAX_EVENT_BYTES - base + 1)),
        "event is larger than 32 KiB"
    );
}

#[test]
fn string_lengths_count_code_points() {
    let id = |n: usize| format!(r#","orgId":"{}""#, "é".repeat(n));
    assert_eq!(verdict(&id(128)), "");
    assert_eq!(verdict(&id(129)), "orgId: Expected `str` of length <= 128");
    assert_eq!(
        verdict(r#","orgId":"""#),
        "orgId: Expected `str` of length >= 1"
    );
    assert_eq!(verdict(&format!(r#","route":"{}""#, "/".repeat(2048))), "");
    assert_eq!(
        verdict(&format!(r#","route":"{}""#, "/".repeat(2049))),
        "route: Expected `str` of length <= 2048"
    );
    assert_eq!(
        verdict(r#","screenId":"""#),
        "screenId: Expected `str` of length >= 1"
    );
    assert_eq!(
        verdict(&format!(r#","eventId":"{}""#, "e".repeat(65))),
        "eventId: Expected `str` of length <= 64"
    );
    assert_eq!(verdict(r#","orgId":"\ud83d\ude00""#), ""); // one code point
}

#[test]
fn extra_limits() {
    let keys = |n: usize| {
        (0..n)
            .map(|i| format!(r#""k{i}":1"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    assert_eq!(verdict(&format!(r#","extra":{{{}}}"#, keys(32))), "");
    assert_eq!(
        verdict(&format!(r#","extra":{{{}}}"#, keys(33))),
        "extra: Expected `object` of length <= 32"
    );
    assert_eq!(verdict(&format!(r#","extra":{{{},"k0":2}}"#, keys(32))), ""); // a repeated key is one key
    assert_eq!(
        verdict(&format!(r#","extra":{{"a":"{}"}}"#, "y".repeat(256))),
        ""
    );
    let key = "K".repeat(100);
    assert_eq!(
        verdict(&format!(r#","extra":{{"{key}":"{}"}}"#, "y".repeat(257))),
        format!("extra.{}: string longer than 256", "K".repeat(64))
    );
    assert_eq!(
        verdict(r#","extra":{"a":[]}"#),
        "extra[...]: Expected `bool | int | float | str | null`, got `array`"
    );
    assert_eq!(
        verdict(r#","extra":{"a":1e999}"#),
        "extra[...]: Number out of range"
    );
    assert_eq!(
        verdict(r#","extra":[]"#),
        "extra: Expected `object | null`, got `array`"
    );
    assert_eq!(
        verdict(r#","extra":{"a":123456789012345678901234567890}"#),
        ""
    );
}

#[test]
fn the_future_and_clock_skew() {
    let at = |ts: &str| format!(r#","ts":"{ts}""#);
    assert_eq!(verdict(&at("2026-11-27T10:10:00Z")), "");
    assert_eq!(
        verdict(&at("2026-11-27T10:10:00.001Z")),
        "ts is more than 10 minutes in the future"
    );
    assert_eq!(verdict(&at("2026-11-27T10:10:00.000999Z")), ""); // truncated to the ms, as the contract does
    let ev = [event(&at("2026-11-27T11:05:00Z"))];
    let Outcome::Checked(c) = check(&ev, r#","sentAt":"2026-11-27T11:00:00Z""#) else {
        panic!()
    };
    assert_eq!((c.skew_ms, c.errors.len()), (-3_600_000, 0));
    let Outcome::Checked(c) = check(&ev, r#","sentAt":"2026-11-27T10:00:05Z""#) else {
        panic!()
    };
    assert_eq!((c.skew_ms, c.errors.len()), (0, 1));
    let Outcome::Checked(c) = check(&ev, r#","sentAt":"2026-11-27T09:59:54.999Z""#) else {
        panic!()
    };
    assert_eq!(c.skew_ms, 5001);
}

#[test]
fn reasons_as_msgspec_words_them() {
    assert_eq!(verdict(r#","x":1"#), "Object contains unknown field `x`");
    assert_eq!(
        verdict(r#","receivedAt":"2026-11-27T10:00:00Z""#),
        "Object contains unknown field `receivedAt`"
    );
    assert_eq!(verdict(r#","orgId":5"#), "orgId: Expected `str`, got `int`");
    assert_eq!(verdict(r#","orgId":1e999"#), "orgId: Number out of range");
    assert_eq!(
        verdict(r#","orgId":1.5"#),
        "orgId: Expected `str`, got `float`"
    );
    assert_eq!(
        verdict(r#","latencyMs":"1""#),
        "latencyMs: Expected `float | null`, got `str`"
    );
    assert_eq!(
        verdict(r#","latencyMs":-1"#),
        "latencyMs: Expected `float` >= 0.0"
    );
    assert_eq!(verdict(r#","latencyMs":-0.0"#), "");
    assert_eq!(
        verdict(r#","latencyMs":1e999"#),
        "latencyMs: Number out of range"
    );
    assert_eq!(
        verdict(r#","eventType":"x'y""#),
        r#"eventType: Invalid enum value "x'y""#
    );
    assert_eq!(
        verdict(r#","deviceType":"tv""#),
        "deviceType: Invalid enum value 'tv'"
    );
    assert_eq!(
        verdict(r#","ts":null"#),
        "ts: Expected `datetime`, got `null`"
    );
    assert_eq!(
        verdict(r#","ts":"2026-11-27""#),
        "ts: not an RFC 3339 timestamp with time and zone"
    );
    let mut bad = body(&[event(r#","appName":"??""#)], "");
    let at = bad.windows(2).position(|w| w == b"??").unwrap();
    bad[at] = 0xff;
    let Outcome::Checked(c) = check_batch(&bad, NOW_MS, false) else {
        panic!()
    };
    assert_eq!(c.errors, ["Event 0: invalid UTF-8 in a JSON string"]);
    let Outcome::Checked(c) = check(&["1".into(), "{}".into()], "") else {
        panic!()
    };
    assert_eq!(
        c.errors,
        [
            "Event 0: Expected `object`, got `int`",
            "Event 1: Object missing required field `orgId`"
        ]
    );
}

#[test]
fn malformed_json_goes_to_the_reference() {
    for b in [
        &b""[..],
        b"{",
        b"{\"agentId\":\"a\",}",
        b"x",
        b"{\"agentId\":\"a\",\"sdkVersion\":\"1\",\"events\":[{}]} x",
    ] {
        assert_eq!(
            check_batch(b, NOW_MS, false),
            Outcome::Fallback,
            "{:?}",
            String::from_utf8_lossy(b)
        );
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        check(&[event(&format!(r#","x":{deep}"#))], ""),
        Outcome::Fallback
    );
}

#[test]
fn no_input_panics() {
    // Every prefix and every byte flip of a valid body: any outcome, never a panic.
    let b = body(
        &[
            event(r#","latencyMs":1.5,"extra":{"a":"\u00e9","b":[1]}"#),
            event(""),
        ],
        r#","sentAt":"2026-11-27T10:00:00+01:00""#,
    );
    for cut in 0..b.len() {
        let _ = check_batch(&b[..cut], NOW_MS, false);
        for flip in [0x01u8, 0x20, 0x80, 0xff] {
            let mut m = b.clone();
            m[cut] ^= flip;
            let _ = check_batch(&m, NOW_MS, false);
        }
    }
    let _ = check_batch(&b, i64::MAX, false);
    let _ = check_batch(&b, i64::MIN, false);
}

/// `FK_BENCH_BODY=<file> cargo test --release -- --ignored --nocapture kernel_speed`
#[test]
#[ignore]
fn kernel_speed() {
    let Ok(path) = std::env::var("FK_BENCH_BODY") else {
        return;
    };
    let b = std::fs::read(path).unwrap();
    let rounds = 20_000;
    let t0 = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..rounds {
        if let Outcome::Checked(c) = check_batch(std::hint::black_box(&b), NOW_MS, false) {
            n += c.accepted.len();
        }
    }
    let dt = t0.elapsed().as_secs_f64();
    eprintln!("{n} events, {:.3} µs/event", dt / n as f64 * 1e6);
}
