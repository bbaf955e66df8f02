"""LZString's ``decompressFromBase64``, for posthog-js's ``lz64`` compression.

Older posthog-js releases (and anything copying their snippet) send
``data=<LZString.compressToBase64(json)>`` with ``?compression=lz64``. This is
a port of the reference ``_decompress`` (lz-string 1.4/1.5, pieroxy): an LZW
variant whose dictionary grows one entry per step, read 6 bits per base64
character, most significant bit first. JavaScript strings are UTF-16, so the
dictionary holds UTF-16 code units (lone surrogates included) and the result
is joined back into text at the end.

The output is capped: a few kilobytes of input can expand to gigabytes (each
step may append an entry as long as everything so far), so the length is
checked while decoding, not after.
"""

from __future__ import annotations

from .contract import BatchError, BodyTooLarge

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}
_RESET = 32  # the highest bit of one base64 digit


class _Bits:
    """The input as a stream of bits, 6 per character."""

    __slots__ = ("text", "index", "val", "position")

    def __init__(self, text: str) -> None:
        self.text = text
        self.index = 1
        self.val = self._value(0)
        self.position = _RESET

    def _value(self, i: int) -> int:
        if i >= len(self.text):
            return 0  # as JS: charAt past the end is "", whose value is undefined, read as 0 bits
        try:
            return _VALUE[self.text[i]]
        except KeyError:
            raise BatchError(f"lz64 data has a character outside base64 at {i}") from None

    def read(self, count: int) -> int:
        bits = 0
        power = 1
        for _ in range(count):
            if self.val & self.position:
                bits |= power
            self.position >>= 1
            if self.position == 0:
                self.position = _RESET
                self.val = self._value(self.index)
                self.index += 1
            power <<= 1
        return bits


def decompress_from_base64(text: str, max_chars: int) -> str:
    """The string ``LZString.compressToBase64`` was given; ``BatchError`` when
    ``text`` is not such output, ``BodyTooLarge`` past ``max_chars``."""
    text = text.strip()
    if not text:
        raise BatchError("lz64 data is empty")
    bits = _Bits(text)
    first = bits.read(2)
    if first == 2:
        return ""
    if first not in (0, 1):
        raise BatchError("lz64 data does not start with a literal")
    c = chr(bits.read(8 if first == 0 else 16))
    dictionary: list[str] = ["", "", "", c]  # 0, 1, 2 are the literal and end markers
    enlarge_in = 4
    num_bits = 3
    w = c
    out = [c]
    size = 1
    length = len(text)
    while True:
        if bits.index > length:
            raise BatchError("lz64 data is truncated")
        code = bits.read(num_bits)
        if code in (0, 1):
            dictionary.append(chr(bits.read(8 if code == 0 else 16)))
            code = len(dictionary) - 1
            enlarge_in -= 1
        elif code == 2:
            return _utf16("".join(out))
        if enlarge_in == 0:
            enlarge_in = 1 << num_bits
            num_bits += 1
        if code < len(dictionary):
            entry = dictionary[code]
        elif code == len(dictionary):
            entry = w + w[0]
        else:
            raise BatchError("lz64 data refers to a dictionary entry that does not exist")
        size += len(entry)
        if size > max_chars:
            raise BodyTooLarge(f"body exceeds {max_chars // (1024 * 1024)} MiB after decompression")
        out.append(entry)
        dictionary.append(w + entry[0])
        enlarge_in -= 1
        w = entry
        if enlarge_in == 0:
            enlarge_in = 1 << num_bits
            num_bits += 1


def _utf16(units: str) -> str:
    """Code units (as chars, surrogates included) back into text."""
    try:
        return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        raise BatchError("lz64 data decodes to invalid UTF-16") from None
