"""A Bloom filter of session keys that have events in the store.

The embedded pipeline must reload a key's stored history before it computes
that key's sessions (so a session is never computed from part of its events),
but asking the store for every new key costs a scan per chunk, or per HTTP
batch. The filter answers "certainly never stored" for almost every new key
from 4 MiB of memory, whatever the number of keys; a false positive only
costs one needless lookup.
"""

from __future__ import annotations

from typing import Iterable

from ..core.model import SessionKey

_BITS_LOG2 = 25  # 32 Mi bits = 4 MiB; 0.02 % false positives at 1 M keys
_MASK = (1 << _BITS_LOG2) - 1


class KeyFilter:
    def __init__(self, keys: Iterable[SessionKey] = ()) -> None:
        self._bits = bytearray(1 << (_BITS_LOG2 - 3))
        self.added = 0
        for key in keys:
            self.add(key)

    @staticmethod
    def _positions(key: SessionKey) -> tuple[int, int, int, int]:
        # Two 64-bit hashes give four 25-bit positions. Python's hash is
        # salted per process, which is fine: the filter never leaves it.
        h1 = hash(key)
        h2 = hash((key, 0x9E3779B9))
        return h1 & _MASK, (h1 >> 25) & _MASK, h2 & _MASK, (h2 >> 25) & _MASK

    def add(self, key: SessionKey) -> None:
        bits = self._bits
        for p in self._positions(key):
            bits[p >> 3] |= 1 << (p & 7)
        self.added += 1

    def __contains__(self, key: SessionKey) -> bool:
        bits = self._bits
        for p in self._positions(key):
            if not bits[p >> 3] & (1 << (p & 7)):
                return False
        return True
