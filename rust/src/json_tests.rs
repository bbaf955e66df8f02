//! Unit tests of `json.rs`.

use super::*;

fn skip_all(s: &[u8]) -> R<()> {
    let mut p = Parser::new(s);
    p.skip(0)?;
    if p.at_end() {
        Ok(())
    } else {
        Err(Fault::Fallback)
    }
}

#[test]
fn standard_json_is_accepted() {
    for s in [
        &b"{}"[..],
        b"[]",
        b" {\"a\" : [1, -0, 0.5e-3, 1E+9, true, false, null, \"\\u00e9\\ud83d\\ude00\\n\"]}\r\n",
        b"\"\xff\"", // UTF-8 is not the skipper's business
    ] {
        assert_eq!(skip_all(s), Ok(()), "{:?}", String::from_utf8_lossy(s));
    }
}

#[test]
fn anything_else_falls_back() {
    for s in [
        &b""[..],
        b" ",
        b"{",
        b"{\"a\":1,}",
        b"[1,]",
        b"[1 2]",
        b"01",
        b"1.",
        b"1e",
        b"-",
        b"+1",
        b"nul",
        b"NaN",
        b"\"\x01\"",
        b"\"\\q\"",
        b"\"\\u12\"",
        b"\"\\ud800\"",
        b"\"\\udc00\"",
        b"\"\\ud800\\u0041\"",
        b"{1:2}",
        b"{\"a\" 1}",
        b"\"abc",
        b"[1]x",
        b"\xef\xbb\xbf{}",
    ] {
        assert_eq!(
            skip_all(s),
            Err(Fault::Fallback),
            "{:?}",
            String::from_utf8_lossy(s)
        );
    }
}

#[test]
fn nesting_beyond_the_limit_falls_back_without_overflowing_the_stack() {
    let ok = [b"[".repeat(MAX_DEPTH), b"]".repeat(MAX_DEPTH)].concat();
    assert_eq!(skip_all(&ok), Ok(()));
    let deep = [b"[".repeat(100_000), b"]".repeat(100_000)].concat();
    assert_eq!(skip_all(&deep), Err(Fault::Fallback));
}

#[test]
fn kinds_are_named_as_msgspec_names_them() {
    for (s, k) in [
        (&b"1"[..], "int"),
        (b"-1.5", "float"),
        (b"1e3", "float"),
        (b"null", "null"),
        (b"18446744073709551615", "int"),
        (b"18446744073709551616", "float"),
        (b"-9223372036854775809", "float"),
        (b"[", "array"),
    ] {
        assert_eq!(Parser::new(s).kind().map(Kind::name), Ok(k));
    }
    assert_eq!(Parser::new(b"1.").kind(), Err(Fault::Fallback));
}
