"""Time-ordered identifiers.

Identifiers are ULIDs (https://github.com/ulid/spec): 48 bits of milliseconds then 80 random bits, written
in Crockford base32. They sort by creation time as plain strings, which is what keyset (cursor) pagination
needs, and they reveal nothing a sequential integer would (row counts, growth).
"""

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def encode_ulid(millis: int, randomness: bytes) -> str:
    if not 0 <= millis < 1 << 48:
        raise ValueError("timestamp out of ULID range")
    if len(randomness) != 10:
        raise ValueError("ULID randomness is 80 bits")
    value = (millis << 80) | int.from_bytes(randomness, "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id() -> str:
    return encode_ulid(time.time_ns() // 1_000_000, os.urandom(10))


def is_id(value: str) -> bool:
    return len(value) == 26 and all(c in _ALPHABET for c in value) and value[0] in "01234567"
