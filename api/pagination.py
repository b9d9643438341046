"""Opaque keyset cursors.

A cursor is the sort key of the last item of a page, base64url-encoded JSON. Keyset pagination (rather than
offsets) never repeats or skips an item when rows are inserted between two page requests.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from api.problems import BadRequest

T = TypeVar("T")


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequest("the cursor is not one this service issued", slug="invalid-cursor") from None
    if not isinstance(key, list) or len(key) != arity or not all(isinstance(k, str | int | float) for k in key):
        raise BadRequest("the cursor is not one this service issued", slug="invalid-cursor")
    return key


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], Sequence[Any]]) -> tuple[list[T], str | None]:
    """Cut ``rows`` (fetched with ``limit + 1``) to a page and the cursor of the next one."""
    items = list(rows[:limit])
    has_more = len(rows) > limit
    return items, (encode_cursor(key(items[-1])) if has_more and items else None)
