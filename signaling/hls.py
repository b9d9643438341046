"""The /hls edge: playlists (LL-HLS blocking reload, gzip) and media objects from the HLS storage.

Blocking playlist reload follows draft-pantos-hls-rfc8216bis §6.2.5.2: ``_HLS_msn``/``_HLS_part`` hold the
request until the playlist holds that segment or part; more than two segments ahead is a 400, and a wait
longer than three target durations ends in 503. Live playlists come from memory; everything else from the
storage (local files here, or a redirect to the S3/CDN URL).
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry
from pydantic import Field

from api.config import Settings
from api.models import QueryModel
from api.problems import BadRequest, NotFound, ServiceUnavailable
from api.routing import Access, Routes
from api.state import HLS
from transcode.errors import StorageError
from transcode.metrics import TranscodeMetrics
from transcode.s3 import S3Storage
from transcode.service import HlsService
from transcode.storage import LocalStorage, Storage, cache_control, check_key, media_type
from transcode.transcoder import HlsOptions

routes = Routes()


def hls_service(settings: Settings, registry: CollectorRegistry | None = None) -> HlsService:
    """The service the app runs: S3 when a bucket is configured, else the data dir's ``media``."""
    metrics = TranscodeMetrics(registry)
    storage: Storage
    if settings.s3_bucket:
        secret = settings.s3_secret_access_key
        storage = S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            path_style=settings.s3_path_style,
            public_base_url=settings.s3_public_base_url,
            metrics=metrics,
        )
    else:
        storage = LocalStorage(settings.media_dir)
    options = HlsOptions(
        segment_duration=settings.hls_segment_seconds,
        part_duration=settings.hls_part_seconds,
        live_window=settings.hls_live_window,
        recording=settings.hls_recording,
    )
    return HlsService(storage, options, metrics)


class ReloadQuery(QueryModel):
    hls_msn: int | None = Field(
        None, alias="_HLS_msn", ge=0, description="Hold until this media segment exists."
    )
    hls_part: int | None = Field(None, alias="_HLS_part", ge=0, description="…and this part of it.")


def _playlist_response(request: web.Request, text: str, max_age: int | None = None) -> web.Response:
    response = web.Response(
        body=text.encode(),
        content_type="application/vnd.apple.mpegurl",
        headers={"Cache-Control": f"public, max-age={max_age}" if max_age else "no-cache"},
    )
    response.enable_compression()  # gzip or deflate, as the client accepts (Apple: compress playlists)
    return response


@routes.get(
    "/hls/{key:.+}",
    access=Access.PUBLIC,
    query=ReloadQuery,
    tags=("hls",),
    summary="HLS playlists, segments, parts and images",
    errors=(400, 404, 503),
)
async def hls_object(request: web.Request, query: ReloadQuery) -> web.StreamResponse:
    service = request.app[HLS]
    key = request.match_info["key"]
    try:
        check_key(key)
    except StorageError:
        raise NotFound("no such HLS object") from None
    if query.hls_part is not None and query.hls_msn is None:
        raise BadRequest("_HLS_part requires _HLS_msn")
    rendition = service.rendition(key)
    if rendition is not None:
        if query.hls_msn is not None:
            if query.hls_msn > rendition.pending_msn + 1:  # more than two segments past the last one
                raise BadRequest("_HLS_msn is too far ahead of the playlist")
            if not await rendition.wait_for(query.hls_msn, query.hls_part, rendition.hold_limit):
                raise ServiceUnavailable("the requested part was not produced in time")
        if rendition.playlist_text:
            # The answer to a given _HLS_msn/_HLS_part stays a valid answer to that URL, so a CDN may keep it
            # and serve the crowd of players asking the same; a plain reload must always be fresh.
            blocking = query.hls_msn is not None
            max_age = round(6 * rendition.target_duration) if blocking else None
            return _playlist_response(request, rendition.playlist_text, max_age)
    storage = service.storage
    if not isinstance(storage, LocalStorage):
        raise web.HTTPFound(storage.url(key))
    path = storage.path(key)
    if key.endswith(".m3u8"):
        try:
            return _playlist_response(request, (await storage.get(key)).decode())
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound("no such HLS object") from None
    if not path.is_file():
        raise NotFound("no such HLS object")
    return web.FileResponse(
        path, headers={"Content-Type": media_type(key), "Cache-Control": cache_control(key)}
    )
