"""The console's clean URLs (``web.pages``): each serves its page, and an id that cannot exist is a problem."""

from __future__ import annotations

from tests.api.helpers import Client, problem
from tests.conftest import AppFactory


async def test_pages_and_their_assets_are_served(make_client: AppFactory) -> None:
    client: Client = await make_client()
    for path, module in (("/", None), ("/live", "golive.js"), ("/watch/01JABCDEF-live.1", "watch.js")):
        response = await client.get(path)
        assert response.status == 200, path
        assert response.content_type == "text/html"
        assert response.headers["Cache-Control"] == "no-cache"
        page = await response.text()
        if module is not None:
            assert f'<script type="module" src="/static/console/{module}">' in page
            asset = await client.get(f"/static/console/{module}")
            assert asset.status == 200
            assert asset.content_type in ("text/javascript", "application/javascript")  # ES modules need it
    assert 'href="/live"' in await (await client.get("/")).text()


async def test_a_stream_id_outside_the_api_alphabet_is_a_problem(make_client: AppFactory) -> None:
    client: Client = await make_client()
    await problem(await client.get("/watch/not%20an%20id"), 404)
    await problem(await client.get("/watch/" + "a" * 65), 404)
    await problem(await client.get("/watch/"), 404)
