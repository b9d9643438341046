"""S3Storage against a real S3-compatible server (moto's server mode) started on loopback by the test."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import m3u8
import pytest
from moto.server import ThreadedMotoServer
from prometheus_client import CollectorRegistry

from api.state import HLS
from tests.conftest import AppFactory
from transcode.metrics import TranscodeMetrics
from transcode.pattern import PatternSource
from transcode.s3 import S3Storage
from transcode.transcoder import CloseReason, HlsOptions, Transcoder

BUCKET = "mixillo-test"
CDN = "https://cdn.mixillo.test/hls"
CREDENTIALS = {"access_key_id": "test", "secret_access_key": "test"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


class OrderedS3Storage(S3Storage):
    """The real storage, noting the order in which objects became visible."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visible: list[str] = []
        self.deleted: list[str] = []
        self.unready: list[str] = []  # objects named by a playlist before they were stored

    async def put(self, key: str, data: bytes, *, duration: float | None = None) -> None:
        if key.endswith(".m3u8"):
            folder = key.rsplit("/", 1)[0]
            named = {f"{folder}/{line}" for line in data.decode().split() if line.endswith(".m4s")}
            named |= {f"{folder}/{uri}" for uri in re.findall(r'URI="([^"]+\.m(?:p4|4s))"', data.decode())}
            named -= {f"{folder}/{uri}" for uri in re.findall(r'PRELOAD-HINT:TYPE=PART,URI="([^"]+)"', data.decode())}
            self.unready.extend(sorted(named - set(self.visible)))
        await super().put(key, data, duration=duration)
        self.visible.append(key)

    async def delete(self, keys: Sequence[str]) -> None:
        await super().delete(keys)
        self.deleted.extend(keys)


async def test_live_to_s3_ends_with_the_window_and_no_stale_objects(s3_endpoint: str) -> None:
    metrics = TranscodeMetrics(CollectorRegistry())
    storage = OrderedS3Storage(BUCKET, endpoint_url=s3_endpoint, public_base_url=CDN, metrics=metrics, **CREDENTIALS)
    options = HlsOptions(live_window=2, recording=False, thumbnail_interval=10.0)
    source = PatternSource(240, 432, duration=9.0, realtime=False, encoded=True)
    transcoder = Transcoder(source, storage, "live/s3", options, metrics=metrics)
    assert await transcoder.run() is CloseReason.ENDED

    # every segment, part and init segment a playlist names was stored before that playlist
    assert storage.unready == []
    assert sum(k.endswith("index.m3u8") for k in storage.visible) > 20

    keys = set(await storage.keys("live/s3/"))
    renditions = ["240p", "audio"]
    expected = {"live/s3/master.m3u8", "live/s3/poster.jpg", "live/s3/thumbs/0.jpg"}
    for name in renditions:
        playlist = m3u8.loads((await storage.get(f"live/s3/{name}/index.m3u8")).decode())
        assert playlist.is_endlist and len(playlist.segments) == 2
        last = int(playlist.segments[-1].uri.removeprefix("seg").removesuffix(".m4s"))
        # the window, plus one segment of grace for players still fetching it
        expected |= {f"live/s3/{name}/{f}" for f in ("init.mp4", "index.m3u8")}
        expected |= {f"live/s3/{name}/seg{n}.m4s" for n in range(last - 2, last + 1)}
    assert keys == expected
    assert any("/part" in k for k in storage.deleted) and "live/s3/240p/seg0.m4s" in storage.deleted

    client = storage._client
    head = client.head_object(Bucket=BUCKET, Key="live/s3/240p/index.m3u8")
    assert (head["ContentType"], head["CacheControl"]) == ("application/vnd.apple.mpegurl", "no-cache")
    segment = sorted(k for k in keys if k.startswith("live/s3/240p/seg"))[0]
    head = client.head_object(Bucket=BUCKET, Key=segment)
    assert head["ContentType"] == "video/iso.segment" and "immutable" in head["CacheControl"]
    assert client.head_object(Bucket=BUCKET, Key="live/s3/poster.jpg")["ContentType"] == "image/jpeg"
    assert storage.url("live/s3/master.m3u8") == f"{CDN}/live/s3/master.m3u8"

    # an upload slower than 0.9 of the media it holds is counted
    before = metrics.slow_uploads._value.get()
    await storage.put("live/s3/slow.m4s", b"x", duration=1e-6)
    assert metrics.slow_uploads._value.get() == before + 1
    await storage.delete(["live/s3/slow.m4s"])
    await storage.close()


async def test_app_on_s3_redirects_media_to_the_cdn(make_client: AppFactory, s3_endpoint: str) -> None:
    client = await make_client(
        s3_bucket=BUCKET,
        s3_endpoint_url=s3_endpoint,
        s3_public_base_url=CDN,
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )
    assert isinstance(client.app[HLS].storage, S3Storage)
    response = await client.get("/hls/videos/x/master.m3u8", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == f"{CDN}/videos/x/master.m3u8"


async def test_uploads_are_retried_with_backoff_until_the_server_answers() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    storage = S3Storage(BUCKET, endpoint_url=endpoint, max_attempts=6, access_key_id="test", secret_access_key="test")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)

    async def server_comes_up() -> None:
        await asyncio.sleep(0.4)  # the first attempts find nothing listening
        server.start()
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ).create_bucket(Bucket=BUCKET)

    try:
        started = time.monotonic()
        _, _ = await asyncio.gather(server_comes_up(), storage.put("live/r/seg0.m4s", b"segment"))
        assert time.monotonic() - started >= 0.4
        assert await storage.get("live/r/seg0.m4s") == b"segment"
    finally:
        await storage.close()
        server.stop()
