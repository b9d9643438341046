"""Pure rules: caption parsing, search terms, the decayed trend arithmetic; and the OpenAPI document."""

from __future__ import annotations

import math
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.social.activity import EPOCH, HALF_LIFE, add_log2, decayed_log
from api.social.text import hashtags, mentions, search_terms
from tests.api.helpers import Client


def test_hashtags_and_mentions() -> None:
    caption = "Hi @Alice_1 and @bob.smith! #Dance #dance #café mail me at x@y.com #a#b @no"
    assert hashtags(caption) == ["dance", "café", "a"]
    assert mentions(caption) == ["alice_1", "bob.smith"]
    assert hashtags("") == [] and mentions("@@") == []


def test_search_terms_strip_query_syntax() -> None:
    assert search_terms('"salsa" OR * NEAR(tango') == ["salsa", "or", "near", "tango"]
    assert search_terms("ÉCOLE-danse") == ["école", "danse"]
    assert search_terms("!!! ---") == []


def test_trend_is_a_decayed_sum() -> None:
    now = EPOCH + timedelta(days=30)
    # Two events of weight 1, one half-life apart, are worth 1.5 at the later moment.
    score = add_log2(decayed_log(1.0, now - HALF_LIFE), decayed_log(1.0, now))
    assert math.isclose(2 ** (score - decayed_log(1.0, now)), 1.5)


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_add_log2_is_symmetric_and_never_loses_a_term(a: float, b: float) -> None:
    total = add_log2(a, b)
    assert total == add_log2(b, a)
    assert total >= max(a, b) and total <= max(a, b) + 1.0 + 1e-9


async def test_openapi_documents_the_social_endpoints(client: Client) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/api/feed",
        "/api/content",
        "/api/content/{content_id}/like",
        "/api/stories/{story_id}/reactions",
        "/api/sounds/{sound_id}/download",
        "/api/messaging/send",
        "/api/notifications/read-all",
        "/api/activity/recommendations",
        "/api/settings/privacy",
        "/api/trending/creators",
        "/api/explorer",
        "/api/search/suggestions",
        "/api/users/{user_id}/block",
    ):
        assert path in paths, path
    upload = paths["/api/content"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    assert "/api/search/products" in paths
