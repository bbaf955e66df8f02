//! RFC 3339 timestamps as msgspec decodes them into an aware `datetime`
//! (`Annotated[datetime, Meta(tz=True)]`), to UTC epoch microseconds.
//!
//! msgspec's grammar, found by probing it (tests/test_native_contract.py
//! holds this to it): `YYYY-MM-DD`, then `T`, `t` or a space, `HH:MM:SS`,
//! an optional fraction of one or more digits, rounded half up at the 7th
//! digit to microseconds (so `.9999995` carries into the next second, and a
//! carry past 9999-12-31 is invalid), then `Z`, `z`, `±HH:MM` or `±HHMM`
//! (hours <= 23, minutes <= 59). No leap second, year >= 1, a real date.
//! Bytes, not text: msgspec parses the bytes, so invalid UTF-8 is "invalid".

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsError {
    Invalid,
    /// A valid local timestamp without a zone.
    NoZone,
}

const US_PER_DAY: i64 = 86_400_000_000;

/// Days from 1970-01-01 to the civil date (proleptic Gregorian).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn num(s: &[u8], at: usize, len: usize) -> Result<i64, TsError> {
    let digits = s.get(at..at + len).ok_or(TsError::Invalid)?;
    let mut v = 0i64;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(TsError::Invalid);
        }
        v = v * 10 + i64::from(d - b'0');
    }
    Ok(v)
}

fn at(s: &[u8], i: usize, allowed: &[u8]) -> Result<(), TsError> {
    match s.get(i) {
        Some(c) if allowed.contains(c) => Ok(()),
        _ => Err(TsError::Invalid),
    }
}

/// UTC epoch microseconds of an RFC 3339 timestamp.
pub fn parse_ts_us(s: &[u8]) -> Result<i64, TsError> {
    let year = num(s, 0, 4)?;
    at(s, 4, b"-")?;
    let month = num(s, 5, 2)?;
    at(s, 7, b"-")?;
    let day = num(s, 8, 2)?;
    at(s, 10, b"Tt ")?;
    let hour = num(s, 11, 2)?;
    at(s, 13, b":")?;
    let minute = num(s, 14, 2)?;
    at(s, 16, b":")?;
    let second = num(s, 17, 2)?;
    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(TsError::Invalid);
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(TsError::Invalid);
    }
    let mut i = 19;
    let mut us = 0i64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            let d = i64::from(s[i] - b'0');
            let place = i - start;
            if place < 6 {
                us = us * 10 + d;
            } else if place == 6 && d >= 5 {
                us += 1; // half up at the 7th digit
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return Err(TsError::Invalid);
        }
        if n < 6 {
            // `us` holds n digits (no rounding happened): scale to microseconds.
            us *= 10i64.pow((6 - n) as u32);
        }
    }
    let offset_min = match s.get(i) {
        None => None,
        Some(b'Z' | b'z') if i + 1 == s.len() => Some(0),
        Some(&sign @ (b'+' | b'-')) => {
            let hh = num(s, i + 1, 2)?;
            let mm_at = if s.get(i + 3) == Some(&b':') {
                i + 4
            } else {
                i + 3
            };
            let mm = num(s, mm_at, 2)?;
            if mm_at + 2 != s.len() || hh > 23 || mm > 59 {
                return Err(TsError::Invalid);
            }
            let m = hh * 60 + mm;
            Some(if sign == b'+' { m } else { -m })
        }
        Some(_) => return Err(TsError::Invalid),
    };
    let local = days_from_civil(year, month, day) * US_PER_DAY
        + ((hour * 60 + minute) * 60 + second) * 1_000_000
        + us;
    if local >= days_from_civil(10_000, 1, 1) * US_PER_DAY {
        return Err(TsError::Invalid); // rounding carried past 9999-12-31
    }
    match offset_min {
        None => Err(TsError::NoZone),
        Some(m) => Ok(local - m * 60_000_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_773_600_000_000; // 2026-11-27T10:00:00Z

    #[test]
    fn zones_and_separators() {
        assert_eq!(parse_ts_us(b"1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_ts_us(b"2026-11-27T10:00:00Z"), Ok(T));
        assert_eq!(parse_ts_us(b"2026-11-27t10:00:00z"), Ok(T));
        assert_eq!(parse_ts_us(b"2026-11-27 10:00:00Z"), Ok(T));
        assert_eq!(parse_ts_us(b"2026-11-27T12:00:00+02:00"), Ok(T));
        assert_eq!(parse_ts_us(b"2026-11-27T12:00:00+0200"), Ok(T));
        assert_eq!(parse_ts_us(b"2026-11-27T04:30:00-05:30"), Ok(T));
        assert_eq!(parse_ts_us(b"2026-11-27T10:00:00-00:00"), Ok(T));
        assert_eq!(
            parse_ts_us(b"2026-11-28T09:59:00+23:59"),
            Ok(T + (24 * 60 - 1 - 23 * 60 - 59) * 60_000_000)
        );
    }

    #[test]
    fn fractions_round_half_up_at_the_seventh_digit() {
        assert_eq!(parse_ts_us(b"2026-11-27T10:00:00.1Z"), Ok(T + 100_000));
        assert_eq!(parse_ts_us(b"2026-11-27T10:00:00.123456Z"), Ok(T + 123_456));
        assert_eq!(
            parse_ts_us(b"2026-11-27T10:00:00.1234565Z"),
            Ok(T + 123_457)
        );
        assert_eq!(
            parse_ts_us(b"2026-11-27T10:00:00.12345649999Z"),
            Ok(T + 123_456)
        );
        assert_eq!(
            parse_ts_us(b"2026-11-27T10:00:00.9999995Z"),
            Ok(T + 1_000_000)
        );
        assert_eq!(
            parse_ts_us(b"2026-11-27T23:59:59.9999999Z"),
            Ok(T + 14 * 3_600_000_000)
        );
        assert_eq!(
            parse_ts_us(b"9999-12-31T23:59:59.9999999Z"),
            Err(TsError::Invalid)
        );
        assert_eq!(parse_ts_us(b"9999-12-31T23:59:59.9999994Z").is_ok(), true);
    }

    #[test]
    fn what_is_not_a_timestamp() {
        for s in [
            &b"2026-11-27"[..],
            b"2026-11-27T10:00Z",
            b"2026-11-27T10:00:00.Z",
            b"2026-02-29T10:00:00Z",
            b"1900-02-29T10:00:00Z",
            b"0000-01-01T00:00:00Z",
            b"2026-11-27T24:00:00Z",
            b"2026-11-27T10:60:00Z",
            b"2026-11-27T10:00:60Z",
            b"2026-11-27T10:00:00+24:00",
            b"2026-11-27T10:00:00+23:60",
            b"2026-11-27T10:00:00+02",
            b"2026-11-27T10:00:00+020",
            b"2026-11-27T10:00:00+02:000",
            b"2026-11-27T10:00:00ZZ",
            b"2026-11-27T10:00:00 Z",
            b"2026-11-27_10:00:00Z",
            b" 2026-11-27T10:00:00Z",
            b"+2026-11-27T10:00:00Z",
            b"2026-11-27T10:00:00\xffZ",
            b"",
        ] {
            assert_eq!(
                parse_ts_us(s),
                Err(TsError::Invalid),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
        assert_eq!(parse_ts_us(b"2026-11-27T10:00:00"), Err(TsError::NoZone));
        assert_eq!(parse_ts_us(b"2026-11-27T10:00:00.5"), Err(TsError::NoZone));
    }

    #[test]
    fn year_one_with_an_offset_is_before_year_one_in_utc() {
        assert_eq!(
            parse_ts_us(b"0001-01-01T00:00:00+01:00"),
            Ok(days_from_civil(1, 1, 1) * US_PER_DAY - 3_600_000_000)
        );
    }
}
