"""HLS objects in an S3-compatible bucket through boto3, behind any CDN.

boto3 blocks, so every call runs in a small thread pool of this storage's own. botocore's ``standard``
retry mode retries throttling and transient errors with exponential backoff and jitter. An upload slower
than 0.9 of the media it holds cannot keep up with a live stream: it is counted in
``mixillo_hls_slow_uploads_total`` and logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from transcode.errors import StorageError
from transcode.metrics import TranscodeMetrics
from transcode.storage import cache_control, check_key, media_type

log = logging.getLogger(__name__)
SLOW_UPLOAD_FRACTION = 0.9


class S3Storage:
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        path_style: bool = True,
        public_base_url: str | None = None,
        metrics: TranscodeMetrics | None = None,
        max_attempts: int = 5,
        workers: int = 8,
    ) -> None:
        self.bucket = bucket
        config = Config(
            region_name=region,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": "path" if path_style else "virtual"},
            connect_timeout=5,
            read_timeout=15,
            max_pool_connections=workers,
        )
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )
        if public_base_url:
            self._base_url = public_base_url.rstrip("/")
        elif endpoint_url:
            self._base_url = f"{endpoint_url.rstrip('/')}/{bucket}"
        else:
            self._base_url = f"https://{bucket}.s3.{region}.amazonaws.com"
        self._metrics = metrics
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="s3")

    async def _call(self, method: str, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, lambda: getattr(self._client, method)(**kwargs))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(kwargs.get("Key")) from exc
            raise StorageError(f"S3 {method} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 {method} failed: {exc}") from exc

    async def put(self, key: str, data: bytes, *, duration: float | None = None) -> None:
        started = time.monotonic()
        await self._call(
            "put_object",
            Bucket=self.bucket,
            Key=check_key(key),
            Body=data,
            ContentType=media_type(key),
            CacheControl=cache_control(key),
        )
        elapsed = time.monotonic() - started
        if self._metrics is not None:
            self._metrics.upload_seconds.observe(elapsed)
        if duration is not None and elapsed > SLOW_UPLOAD_FRACTION * duration:
            log.warning("S3 upload of %s took %.3f s for %.3f s of media", key, elapsed, duration)
            if self._metrics is not None:
                self._metrics.slow_uploads.inc()

    async def get(self, key: str) -> bytes:
        response = await self._call("get_object", Bucket=self.bucket, Key=check_key(key))
        body: bytes = await asyncio.get_running_loop().run_in_executor(self._pool, response["Body"].read)
        return body

    async def delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            batch = [{"Key": check_key(k)} for k in keys[start : start + 1000]]
            await self._call("delete_objects", Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    async def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = await self._call("list_objects_v2", **kwargs)
            found.extend(item["Key"] for item in page.get("Contents", []))
            token = page.get("NextContinuationToken")
            if not token:
                return sorted(found)

    def url(self, key: str) -> str:
        return f"{self._base_url}/{check_key(key)}"

    async def close(self) -> None:
        self._pool.shutdown(wait=False)
        self._client.close()
