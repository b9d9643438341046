"""The console's clean URLs: ``/`` (landing), ``/live`` (go live) and ``/watch/{stream_id}`` (watch).

Each serves a static page from ``web/static``; the pages are plain ES modules that talk to the public API
(REST, WHIP/WHEP, Socket.IO ``/live``) like any other client, so no server-side rendering happens here. A
stream id that cannot exist (the API's id alphabet, 1-64 characters) is aiohttp's 404, which the problem
middleware renders as problem+json; whether a well-formed id names a live is the page's question to the API.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from web import STATIC_DIR

STREAM_ID = r"[A-Za-z0-9_.:-]{1,64}"  # the live API's PlainId (api.live.models)
PAGES: dict[str, Path] = {
    "/": STATIC_DIR / "index.html",
    "/live": STATIC_DIR / "console" / "golive.html",
    f"/watch/{{stream_id:{STREAM_ID}}}": STATIC_DIR / "console" / "watch.html",
}


def _page(path: Path) -> Handler:
    async def serve(_request: web.Request) -> web.StreamResponse:
        # no-cache: the pages are tiny and change with the code; the browser revalidates by ETag
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return serve


def install(app: web.Application) -> None:
    """Add the console's pages to ``app`` (the assets are under ``/static/``)."""
    for route, path in PAGES.items():
        app.router.add_get(route, _page(path))
