"""FFmpeg's own WHIP muxer (inside PyAV) publishing to the server, as a new user would."""

from __future__ import annotations

import asyncio
import datetime
import logging
import sys
from pathlib import Path

import av
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.api.helpers import Client
from tests.engine.clients import Viewer
from tests.signaling.clients import answer, whep_offer
from tests.signaling.conftest import engine_of, token

ROOT = Path(__file__).resolve().parents[2]


def p256_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ffmpeg-whip")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


async def ffmpeg(url: str, media_token: str, seconds: float, *cert: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.signaling.ffmpeg_whip",
        url,
        media_token,
        str(seconds),
        *map(str, cert),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_ffmpeg_default_key_fails_with_a_clear_reason(
    media: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="engine.peer")
    proc = await ffmpeg(str(media.make_url("/whip/ff")), token(media, "ff", publish=True), 3)
    await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode != 0, "FFmpeg's default P-224 DTLS key is accepted now: drop the README workaround"
    for _ in range(50):
        if any("P-224" in r.getMessage() for r in caplog.records) and not engine_of(media).sessions():
            break
        await asyncio.sleep(0.1)
    messages = [r.getMessage() for r in caplog.records]
    assert any("DTLS handshake failed" in m and "cert_file/key_file" in m for m in messages), messages
    await engine_of(media).reap()
    assert engine_of(media).sessions() == []


async def test_ffmpeg_publishes_with_a_p256_certificate(media: Client, tmp_path: Path) -> None:
    cert, key = p256_certificate(tmp_path)
    proc = await ffmpeg(str(media.make_url("/whip/ff")), token(media, "ff", publish=True), 6, cert, key)
    try:
        producers = {}
        for _ in range(100):
            producers = {p.kind: p for s in engine_of(media).sessions() for p in s.producers.values()}
            if producers.get("video") and producers["video"].packets > 20:
                break
            await asyncio.sleep(0.1)
        assert producers["video"].codec.mimeType == "video/H264"
        pc, offer = await whep_offer()
        played = await media.post("/whep/ff", data=offer, headers={"Content-Type": "application/sdp"})
        assert played.status == 201, await played.text()
        await answer(pc, await played.text())
        video = next(t.receiver.track for t in pc.getTransceivers() if t.kind == "video")
        frame = await asyncio.wait_for(video.recv(), 10)
        assert isinstance(frame, av.VideoFrame) and (frame.width, frame.height) == (320, 240)
        assert producers["audio"].packets > 20
        await Viewer(pc, "").close()
    finally:
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, stderr.decode()[-2000:]
