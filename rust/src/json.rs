//! A strict JSON scanner for the event contract (`contract.rs`).
//!
//! It accepts exactly standard JSON (RFC 8259), and nothing msgspec rejects:
//! whenever it meets something it cannot judge the way msgspec does (any
//! syntax fault, nesting deeper than `MAX_DEPTH`, an integer too long for
//! Python's `int`), it answers `Fault::Fallback` and the caller hands the
//! whole input to the Python reference, which then says msgspec's own words
//! (their byte offsets included). Such input is never valid, so falling back
//! costs nothing on the hot path. No function here can panic: every index is
//! checked.

use std::borrow::Cow;

/// Deeper nesting than any valid event has (four levels); beyond it msgspec's
/// own limit (the interpreter's recursion limit) decides, so we fall back.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Not for us to word: the Python reference decides this input.
    Fallback,
    /// A contract reason, already worded as msgspec + `core.contract` word it.
    Reason(String),
    /// Invalid UTF-8 inside a decoded string: a reason without a path.
    Utf8,
    /// A reason about an item of a field's mapping (msgspec's `$.extra[...]`).
    Item(String),
}

pub type R<T> = Result<T, Fault>;

pub fn reason<T>(msg: impl Into<String>) -> R<T> {
    Err(Fault::Reason(msg.into()))
}

/// A JSON value's type, named as msgspec names it in "got `...`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Int,
    Float,
    Str,
    Array,
    Object,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Str => "str",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

pub fn utf8(bytes: &[u8]) -> R<&str> {
    std::str::from_utf8(bytes).map_err(|_| Fault::Utf8)
}

pub struct Parser<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
    /// Was the last string read all ASCII (so valid UTF-8, one char a byte)?
    /// False may also mean "not known" (a string with escapes).
    pub last_ascii: bool,
}

/// The high bit of each of the eight bytes that needs a look in a string:
/// `"`, `\`, a control character or a non-ASCII byte. (SWAR: a borrow can
/// set bits after a true one, never before, so the lowest set bit is exact.)
fn needs_a_look(x: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let quote = x ^ (LO * u64::from(b'"'));
    let backslash = x ^ (LO * u64::from(b'\\'));
    let zero_byte = |v: u64| v.wrapping_sub(LO) & !v & HI;
    zero_byte(quote) | zero_byte(backslash) | (x.wrapping_sub(LO * 0x20) & !x & HI) | (x & HI)
}

impl<'a> Parser<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Parser {
            buf,
            pos: 0,
            last_ascii: false,
        }
    }

    pub fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.buf.get(self.pos) {
            self.pos += 1;
        }
    }

    pub fn at_end(&mut self) -> bool {
        self.ws();
        self.pos >= self.buf.len()
    }

    fn byte(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> R<()> {
        self.ws();
        if self.byte() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Fault::Fallback)
        }
    }

    /// The kind of the next value, consuming nothing. Strings, numbers and
    /// literals are scanned (a malformed one falls back), as msgspec reads
    /// them before it reports a type; arrays and objects are not.
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.byte()
    }

    pub fn kind(&mut self) -> R<Kind> {
        self.ws();
        let start = self.pos;
        let kind = match self.byte() {
            Some(b'{') => return Ok(Kind::Object),
            Some(b'[') => return Ok(Kind::Array),
            Some(b'"') => {
                // msgspec reads the string (not its UTF-8) before it names its type.
                self.string()?;
                Kind::Str
            }
            Some(b't' | b'f') => {
                self.literal()?;
                Kind::Bool
            }
            Some(b'n') => {
                self.literal()?;
                Kind::Null
            }
            Some(b'-' | b'0'..=b'9') => {
                let (float, text) = self.number()?;
                // msgspec reads an integer outside int64/uint64 as a float.
                let int = !float && (text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok());
                if int {
                    Kind::Int
                } else {
                    Kind::Float
                }
            }
            _ => return Err(Fault::Fallback),
        };
        self.pos = start;
        Ok(kind)
    }

    /// Before a number is named in a type error: msgspec first says "Number
    /// out of range" for one too large for a float. (An integer beyond 64 bits
    /// and a float's range: not probed, so the reference decides.)
    pub fn number_in_range(&mut self) -> R<()> {
        let start = self.pos;
        let (float, text) = self.number()?;
        self.pos = start;
        if text
            .parse::<f64>()
            .map_err(|_| Fault::Fallback)?
            .is_infinite()
        {
            return if float {
                reason("Number out of range")
            } else {
                Err(Fault::Fallback)
            };
        }
        Ok(())
    }

    /// `true`, `false` or `null`; returns its first byte.
    pub fn literal(&mut self) -> R<u8> {
        self.ws();
        let rest = &self.buf[self.pos.min(self.buf.len())..];
        for word in [&b"true"[..], b"false", b"null"] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Ok(word[0]);
            }
        }
        Err(Fault::Fallback)
    }

    /// A number in JSON's grammar: (is it a float, its text).
    pub fn number(&mut self) -> R<(bool, &'a str)> {
        self.ws();
        let start = self.pos;
        if self.byte() == Some(b'-') {
            self.pos += 1;
        }
        match self.byte() {
            Some(b'0') => {
                self.pos += 1;
                if self.byte().is_some_and(|c| c.is_ascii_digit()) {
                    return Err(Fault::Fallback); // a leading zero
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Fault::Fallback),
        }
        let mut float = false;
        if self.byte() == Some(b'.') {
            self.pos += 1;
            float = true;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.byte() {
            self.pos += 1;
            float = true;
            if let Some(b'+' | b'-') = self.byte() {
                self.pos += 1;
            }
            self.some_digits()?;
        }
        let text = std::str::from_utf8(&self.buf[start..self.pos]).map_err(|_| Fault::Fallback)?;
        Ok((float, text))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.byte() {
            self.pos += 1;
        }
    }

    fn some_digits(&mut self) -> R<()> {
        let before = self.pos;
        self.digits();
        if self.pos == before {
            return Err(Fault::Fallback);
        }
        Ok(())
    }

    fn hex4(&mut self) -> R<u32> {
        let digits = self
            .buf
            .get(self.pos..self.pos + 4)
            .ok_or(Fault::Fallback)?;
        let mut v = 0u32;
        for &d in digits {
            v = v * 16 + (d as char).to_digit(16).ok_or(Fault::Fallback)?;
        }
        self.pos += 4;
        Ok(v)
    }

    /// A string's bytes with escapes resolved (not checked as UTF-8: msgspec
    /// checks that only where it decodes the string, `utf8` does it then).
    pub fn string(&mut self) -> R<Cow<'a, [u8]>> {
        self.eat(b'"')?;
        let start = self.pos;
        self.last_ascii = true;
        // Fast path: no escape before the closing quote; eight bytes at a
        // time while none of them needs a look.
        loop {
            while let Some(chunk) = self.buf.get(self.pos..self.pos + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let look = needs_a_look(u64::from_le_bytes(word));
                if look != 0 {
                    self.pos += (look.trailing_zeros() / 8) as usize; // the first such byte
                    break;
                }
                self.pos += 8;
            }
            match self.byte() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Borrowed(&self.buf[start..self.pos - 1]));
                }
                Some(b'\\') => break,
                Some(c) if c < 0x20 => return Err(Fault::Fallback),
                Some(c) => {
                    if c >= 0x80 {
                        self.last_ascii = false;
                    }
                    self.pos += 1;
                }
                None => return Err(Fault::Fallback),
            }
        }
        self.last_ascii = false; // not worth tracking through escapes
        let mut out = self.buf[start..self.pos].to_vec();
        loop {
            match self.byte() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.byte().ok_or(Fault::Fallback)?;
                    self.pos += 1;
                    let simple = match c {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => 0,
                        _ => return Err(Fault::Fallback),
                    };
                    if c != b'u' {
                        out.push(simple);
                        continue;
                    }
                    let mut cp = self.hex4()?;
                    if (0xDC00..0xE000).contains(&cp) {
                        return Err(Fault::Fallback); // a lone low surrogate
                    }
                    if (0xD800..0xDC00).contains(&cp) {
                        if self.buf.get(self.pos..self.pos + 2) != Some(&b"\\u"[..]) {
                            return Err(Fault::Fallback);
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&low) {
                            return Err(Fault::Fallback);
                        }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    let ch = char::from_u32(cp).ok_or(Fault::Fallback)?;
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
                Some(c) if c < 0x20 => return Err(Fault::Fallback),
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
                None => return Err(Fault::Fallback),
            }
        }
    }

    /// After `{`: the next key, or `None` at the closing `}`.
    pub fn next_key(&mut self, first: &mut bool) -> R<Option<Cow<'a, [u8]>>> {
        self.ws();
        if self.byte() == Some(b'}') && *first {
            self.pos += 1;
            return Ok(None);
        }
        if !*first {
            match self.byte() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(None);
                }
                Some(b',') => self.pos += 1,
                _ => return Err(Fault::Fallback),
            }
        }
        *first = false;
        let key = self.string()?;
        self.eat(b':')?;
        Ok(Some(key))
    }

    /// After `[`: is there another item (false at the closing `]`)?
    pub fn next_item(&mut self, first: &mut bool) -> R<bool> {
        self.ws();
        if self.byte() == Some(b']') && *first {
            self.pos += 1;
            return Ok(false);
        }
        if !*first {
            match self.byte() {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(false);
                }
                Some(b',') => self.pos += 1,
                _ => return Err(Fault::Fallback),
            }
        }
        *first = false;
        self.ws();
        Ok(true)
    }

    pub fn open(&mut self, c: u8) -> R<()> {
        self.eat(c)
    }

    /// Skip one value, checking its syntax as msgspec's `Raw` does (escapes
    /// included, UTF-8 not); returns where it started and ended.
    pub fn skip(&mut self, depth: usize) -> R<(usize, usize)> {
        if depth > MAX_DEPTH {
            return Err(Fault::Fallback);
        }
        self.ws();
        let start = self.pos;
        match self.byte() {
            Some(b'{') => {
                self.pos += 1;
                let mut first = true;
                while self.next_key(&mut first)?.is_some() {
                    self.skip(depth + 1)?;
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut first = true;
                while self.next_item(&mut first)? {
                    self.skip(depth + 1)?;
                }
            }
            Some(b'"') => {
                self.string()?;
            }
            Some(b't' | b'f' | b'n') => {
                self.literal()?;
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
            }
            _ => return Err(Fault::Fallback),
        }
        Ok((start, self.pos))
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
