"""Access tokens: verification, expiry (also for tokens already verified once), tampering."""

from __future__ import annotations

import time

import pytest

from api.auth.tokens import AccessTokens, Role
from api.problems import Unauthorized


def test_verified_tokens_still_expire() -> None:
    tokens = AccessTokens("s" * 40, ttl_s=60)
    now = time.time()
    token = tokens.issue("01ABCDEFGHJKMNPQRSTVWXYZ00", Role.CREATOR, "fam", now=now)
    first = tokens.verify(token, now=now)
    assert first.user_id == "01ABCDEFGHJKMNPQRSTVWXYZ00" and first.role is Role.CREATOR
    assert tokens.verify(token, now=now + 30) == first  # remembered
    with pytest.raises(Unauthorized):
        tokens.verify(token, now=now + 60 + 11)  # past exp + leeway: refused although it was cached


def test_other_secret_and_tampering_are_refused() -> None:
    ours, theirs = AccessTokens("a" * 40, ttl_s=60), AccessTokens("b" * 40, ttl_s=60)
    token = theirs.issue("u", Role.ADMIN, "fam")
    with pytest.raises(Unauthorized):
        ours.verify(token)
    good = ours.issue("u", Role.USER, "fam")
    ours.verify(good)
    head, payload, sig = good.split(".")
    with pytest.raises(Unauthorized):
        ours.verify(f"{head}.{payload}x.{sig}")
