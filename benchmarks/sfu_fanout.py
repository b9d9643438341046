"""SFU fan-out: server CPU per subscriber, forwarding delay and join time, against aiortc's MediaRelay.

One publisher process sends a pre-encoded 720p30 H.264 clip (about 1.5 Mbps, 2 s GOP, an IDR on PLI) plus
Opus; N subscribers live in other processes and never decode (they time the first complete video frame).
The server runs in its own process, so its CPU time is its own: the SFU (this engine) or a relay built on
aiortc's ``MediaRelay`` (decode once, encode per subscriber), with the same WHIP/WHEP-shaped signaling.

    python -m benchmarks.sfu_fanout                      # short: SFU N=10, relay N=2
    python -m benchmarks.sfu_fanout --n 10,50,100,200 --relay-n 2,4 --seconds 20

Subscribers are :class:`~benchmarks.light_subscriber.LightSubscriber` by default (real ICE and DTLS, the RTP
header read in the clear, no SRTP decryption or jitter buffer), so a few hundred fit on one machine and the
server is the bottleneck; ``--full-subscribers`` uses aiortc's whole receive path instead.

Forwarding delay is measured inside the server: SFU, from an RTP packet's arrival to its send to each
subscriber; relay, from the arrival of a frame's last packet to the end of its encode for each subscriber.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import pickle
import queue
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiohttp import ClientSession, web
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from benchmarks.light_subscriber import LightSubscriber, light_subscriber
from benchmarks.toolkit.tables import markdown_header, markdown_row

__all__ = ["FrameSink", "Joined", "LightSubscriber", "light_subscriber", "one_subscriber", "run_subscribers"]

ROOT = Path(__file__).resolve().parent.parent
CLIP = Path(tempfile.gettempdir()) / "mixillo-bench-clip-720p.pkl"
FPS, SECONDS_OF_CLIP, BITRATE = 30, 4, 1_500_000
VIDEO_TB, AUDIO_TB = fractions.Fraction(1, 90000), fractions.Fraction(1, 48000)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the clip -----------------------------------------------------------------------------------------

def _encode(intra: bool) -> list[tuple[bytes, bool]]:
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = 1280, 720, "yuv420p"
    codec.time_base = fractions.Fraction(1, FPS)
    codec.bit_rate = BITRATE * (4 if intra else 1)
    codec.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline",
                     "g": "1" if intra else str(2 * FPS), "bf": "0", "repeat-headers": "1"}
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 40, (720, 1280, 3), dtype=np.uint8)
    out: list[tuple[bytes, bool]] = []
    for n in range(FPS * SECONDS_OF_CLIP):
        img = np.zeros((720, 1280, 3), np.uint8)
        img[:, :, 0] = (np.arange(1280) + 8 * n) % 256
        img[:, :, 1] = ((np.arange(720) + 3 * n) % 256)[:, None]
        img += np.roll(noise, n * 7, axis=1)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = n
        for packet in codec.encode(frame):
            out.append((bytes(packet), packet.is_keyframe))
    for packet in codec.encode(None):
        out.append((bytes(packet), packet.is_keyframe))
    return out


def make_clip() -> dict[str, Any]:
    if CLIP.exists():
        clip: dict[str, Any] = pickle.loads(CLIP.read_bytes())
        return clip
    opus = av.CodecContext.create("libopus", "w")
    opus.sample_rate, opus.layout, opus.format = 48000, "stereo", "s16"
    audio: list[bytes] = []
    t = np.arange(960) / 48000
    for i in range(50 * SECONDS_OF_CLIP):
        tone = (np.sin(2 * np.pi * 440 * (t + i * 0.02)) * 6000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts = 48000, i * 960
        audio += [bytes(p) for p in opus.encode(frame)]
    clip = {"gop": _encode(False), "intra": _encode(True), "audio": audio}
    CLIP.write_bytes(pickle.dumps(clip))
    return clip


# --- publisher process ------------------------------------------------------------------------------

class ClipTrack(MediaStreamTrack):
    """Pre-encoded packets at their real pace; after a PLI the next frame is the IDR version of itself."""

    def __init__(self, kind: str, clip: dict[str, Any]) -> None:
        super().__init__()
        self.kind = kind
        self.clip = clip
        self.n = 0
        self.want_keyframe = False
        self.start = time.monotonic()

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        video = self.kind == "video"
        interval = 1 / FPS if video else 0.02
        delay = self.start + self.n * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if video:
            frames = self.clip["gop"]
            data, key = frames[self.n % len(frames)]
            if self.want_keyframe and not key:
                data = self.clip["intra"][self.n % len(frames)][0]
            self.want_keyframe = False
            packet = av.Packet(data)
            packet.pts, packet.time_base = self.n * (90000 // FPS), VIDEO_TB
        else:
            packet = av.Packet(self.clip["audio"][self.n % len(self.clip["audio"])])
            packet.pts, packet.time_base = self.n * 960, AUDIO_TB
        self.n += 1
        return packet


async def run_publisher(url: str, seconds: float) -> None:
    clip = make_clip()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video = ClipTrack("video", clip)
    sender = pc.addTransceiver(video, direction="sendonly").sender
    pc.addTransceiver(ClipTrack("audio", clip), direction="sendonly")
    caps = RTCRtpSender.getCapabilities("video").codecs
    pc.getTransceivers()[0].setCodecPreferences(
        [c for c in caps if c.mimeType == "video/H264" and c.parameters.get("profile-level-id") == "42e01f"]
    )
    original = sender._send_keyframe

    def keyframe() -> None:
        video.want_keyframe = True
        original()

    setattr(sender, "_send_keyframe", keyframe)  # noqa: B010
    await pc.setLocalDescription(await pc.createOffer())
    async with ClientSession() as http, http.post(url + "/whip", data=pc.localDescription.sdp) as response:
        answer = await response.text()
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    await asyncio.sleep(seconds)
    await pc.close()


# --- subscriber process ------------------------------------------------------------------------------

class FrameSink(queue.Queue[Any]):
    """Stands in for a receiver's decoder queue: notes complete frames, decodes nothing."""

    def __init__(self, on_frame: Any) -> None:
        super().__init__()
        self.on_frame = on_frame

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(None)
        else:
            self.on_frame()


Joined = tuple[float | None, RTCPeerConnection, dict[str, int]]


async def one_subscriber(url: str, http: ClientSession, whep_url: str | None = None,
                         headers: dict[str, str] | None = None) -> Joined:
    """A subscriber of ``url``'s /whep (or of ``whep_url``, with ``headers``: ``mixillo bench viewers``)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    counts = {"video": 0, "audio": 0}
    first = asyncio.get_running_loop().create_future()
    start = time.monotonic()

    def on_video() -> None:
        counts["video"] += 1
        if not first.done():
            first.set_result(time.monotonic() - start)

    def on_audio() -> None:
        counts["audio"] += 1

    await pc.setLocalDescription(await pc.createOffer())
    for t in pc.getTransceivers():
        sink = FrameSink(on_video if t.kind == "video" else on_audio)
        vars(t.receiver)["_RTCRtpReceiver__decoder_queue"] = sink
    async with http.post(whep_url or url + "/whep", data=pc.localDescription.sdp, headers=headers) as response:
        answer = await response.text()
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    try:
        joined: float | None = await asyncio.wait_for(first, 15)
    except TimeoutError:
        joined = None
    return joined, pc, counts


async def run_subscribers(url: str, count: int, seconds: float, out: str, light: bool = True) -> None:
    async with ClientSession() as http:
        results: list[asyncio.Task[Any]] = []
        for _ in range(count):  # joined one after another, like viewers arriving
            join = light_subscriber(url, http) if light else one_subscriber(url, http)
            results.append(asyncio.create_task(join))
            await asyncio.sleep(0.05)
        done = await asyncio.gather(*results)
        light_peers = [peer for _, peer, *_ in done if isinstance(peer, LightSubscriber)]
        # The second frame ("live") comes at most about a PLI interval after the first.
        moving = [asyncio.shield(p.moving) for p in light_peers if p.moving is not None]
        if moving:
            await asyncio.wait(moving, timeout=3)
        joins = [j for j, *_ in done]
        marks = [peer.marks for peer in light_peers]
        # Written once all have joined: the driver starts measuring when every process has written.
        Path(out).write_text(json.dumps({"joins": joins, "marks": marks}))  # noqa: ASYNC240
        await asyncio.sleep(seconds)
        for _, peer, *_ in done:
            await peer.close()


# --- server process ----------------------------------------------------------------------------------

class Delays:
    def __init__(self) -> None:
        self.samples: list[float] = []
        self.frames = 0  # video frames delivered to subscribers (SFU: last packets sent; relay: encodes)
        self.send_cpu = 0.0  # SFU: thread CPU seconds spent in Consumer.send, and the packets it sent
        self.sent = 0

    def add(self, value: float) -> None:
        if len(self.samples) < 2_000_000:
            self.samples.append(value)


async def sfu_app(delays: Delays) -> web.Application:
    from engine.consumer import Consumer
    from engine.engine import Engine

    original = Consumer.send

    async def timed_send(self: Consumer, packet: Any, codec: Any, now: float, ntp: int, *rest: Any) -> None:
        before, cpu = self.packets, time.thread_time()
        await original(self, packet, codec, now, ntp, *rest)
        delays.send_cpu += time.thread_time() - cpu
        delays.sent += self.packets - before
        if self.kind == "video" and self.packets > before:
            delays.add(time.monotonic() - now)
            delays.frames += packet.marker

    Consumer.send = timed_send  # type: ignore[method-assign,assignment]
    engine = Engine()
    await engine.start()

    async def whip(request: web.Request) -> web.Response:
        session = await engine.publish("bench", await request.text())
        return web.Response(status=201, text=session.answer)

    async def whep(request: web.Request) -> web.Response:
        session = await engine.subscribe("bench", await request.text())
        return web.Response(status=201, text=session.answer)

    async def live(_request: web.Request) -> web.Response:
        return web.json_response(bool(engine.routers.get("bench") and engine.routers["bench"].publishers))

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(engine.stats())

    app = web.Application()
    app.router.add_post("/whip", whip)
    app.router.add_post("/whep", whep)
    app.router.add_get("/live", live)
    app.router.add_get("/stats", stats)
    app.on_cleanup.append(lambda _app: engine.close())
    return app


class TimedTrack(MediaStreamTrack):
    """A relayed track that remembers which frame its sender is encoding."""

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self.pts: int | None = None

    async def recv(self) -> Any:
        frame = await self.source.recv()
        self.pts = frame.pts
        return frame


async def relay_app(delays: Delays) -> web.Application:
    relay = MediaRelay()
    state: dict[str, Any] = {"tracks": {}, "arrivals": {}, "origin": None, "pcs": []}

    async def whip(request: web.Request) -> web.Response:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        state["pcs"].append(pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            state["tracks"][track.kind] = track

        await pc.setRemoteDescription(RTCSessionDescription(await request.text(), "offer"))
        for t in pc.getTransceivers():
            if t.kind == "video":
                receiver = t.receiver
                original = receiver._handle_rtp_packet

                async def handle(packet: Any, arrival_time_ms: int, original: Any = original) -> None:
                    if packet.marker:
                        state["arrivals"][packet.timestamp] = time.monotonic()
                    await original(packet, arrival_time_ms)

                setattr(receiver, "_handle_rtp_packet", handle)  # noqa: B010
                state["mapper"] = vars(receiver)["_RTCRtpReceiver__timestamp_mapper"]
        await pc.setLocalDescription(await pc.createAnswer())
        return web.Response(status=201, text=pc.localDescription.sdp)

    async def whep(request: web.Request) -> web.Response:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        state["pcs"].append(pc)
        await pc.setRemoteDescription(RTCSessionDescription(await request.text(), "offer"))
        for t in pc.getTransceivers():
            source = state["tracks"].get(t.kind)
            if source is None:
                continue
            timed = TimedTrack(relay.subscribe(source))
            t.sender.replaceTrack(timed)
            t.direction = "sendonly"
            if t.kind == "video":
                sender = t.sender
                original = sender._next_encoded_frame

                async def next_frame(codec: Any, timed: TimedTrack = timed, original: Any = original) -> Any:
                    encoded = await original(codec)
                    origin = state["mapper"]._origin
                    raw = None if timed.pts is None or origin is None else (timed.pts + origin) & 0xFFFFFFFF
                    arrived = state["arrivals"].get(raw)
                    if encoded is not None:
                        delays.frames += 1
                        if arrived is not None:
                            delays.add(time.monotonic() - arrived)
                    return encoded

                setattr(sender, "_next_encoded_frame", next_frame)  # noqa: B010
        await pc.setLocalDescription(await pc.createAnswer())
        return web.Response(status=201, text=pc.localDescription.sdp)

    async def live(_request: web.Request) -> web.Response:
        return web.json_response("video" in state["tracks"])

    async def close(_app: web.Application) -> None:
        for pc in state["pcs"]:
            await pc.close()

    app = web.Application()
    app.router.add_post("/whip", whip)
    app.router.add_post("/whep", whep)
    app.router.add_get("/live", live)
    app.on_cleanup.append(close)
    return app


async def run_server(mode: str) -> None:
    delays = Delays()
    app = await (sfu_app(delays) if mode == "sfu" else relay_app(delays))

    async def report(_request: web.Request) -> web.Response:
        samples = sorted(delays.samples)
        frames, delays.frames = delays.frames, 0
        per_packet = delays.send_cpu / delays.sent if delays.sent else None
        delays.samples.clear()
        delays.send_cpu, delays.sent = 0.0, 0
        return web.json_response(
            {"frames": frames, "p50": pct(samples, 50), "p99": pct(samples, 99), "send_cpu": per_packet}
        )

    app.router.add_get("/delays", report)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()


# --- the driver --------------------------------------------------------------------------------------

def pct(samples: list[float], p: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


FULL_SUBSCRIBERS = False  # set from --full-subscribers


async def spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.sfu_fanout", *args, stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )


async def measure(mode: str, n: int, seconds: float, procs: int) -> dict[str, Any]:
    server = await spawn("server", mode)
    assert server.stdout is not None
    port = int((await server.stdout.readline()).decode())
    url = f"http://127.0.0.1:{port}"
    publisher = await spawn("publish", url, str(seconds + 30 + n * 0.1))
    subs: list[asyncio.subprocess.Process] = []
    try:
        async with ClientSession() as http:
            for _ in range(100):
                async with http.get(url + "/live") as r:
                    if await r.json():
                        break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1)
            c0, t0, p0 = cpu_seconds(server.pid), time.monotonic(), await received(http, url)
            await asyncio.sleep(3)
            idle = (cpu_seconds(server.pid) - c0) / (time.monotonic() - t0)  # the publisher leg alone
            packet_rate = (await received(http, url) - p0) / (time.monotonic() - t0)
            outs = [Path(tempfile.mkstemp(suffix=".json")[1]) for _ in range(procs)]
            counts = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
            for count, out in zip(counts, outs, strict=True):
                if count:
                    extra = ("--full",) if FULL_SUBSCRIBERS else ()
                    subs.append(await spawn("subscribe", url, str(count), str(seconds + 90), str(out), *extra))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(o.stat().st_size for o in outs[: len(subs)]):  # noqa: ASYNC110
                await asyncio.sleep(0.2)  # polling files the subscriber processes write
            await asyncio.sleep(1)  # settle
            async with http.get(url + "/delays") as r:
                await r.json()  # discard the join period
            c1, t1 = cpu_seconds(server.pid), time.monotonic()
            await asyncio.sleep(max(1.0, seconds - 6))
            window = time.monotonic() - t1
            loaded = (cpu_seconds(server.pid) - c1) / window
            async with http.get(url + "/delays") as r:
                delays = await r.json()
        joins: list[float | None] = []
        marks: list[dict[str, float]] = []
        for out in outs:
            if out.stat().st_size:
                written = json.loads(out.read_text())
                joins += written["joins"]
                marks += written.get("marks", [])
            out.unlink()
    finally:
        for proc in (publisher, server, *subs):
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    joined = [j for j in joins if j is not None]
    # On a busy machine the publisher and subscribers may not keep 30 fps each: normalise the marginal CPU
    # to one subscriber receiving full-rate video (30 frames/s), from the frames actually delivered.
    fps = delays["frames"] / window
    per_sub = max(loaded - idle, 1e-9) / max(fps / FPS, 1e-9)
    send_cpu = delays.get("send_cpu")
    return {
        "send_us": None if send_cpu is None else send_cpu * 1e6,
        "send_subs_per_core": None if not send_cpu or not packet_rate else 1 / (send_cpu * packet_rate),
        "mode": mode, "n": n, "idle_cpu": idle, "cpu": loaded, "cpu_per_sub": per_sub,
        "subs_per_core": 1 / per_sub, "delay_p50": delays["p50"], "delay_p99": delays["p99"],
        "join_p50": pct(joined, 50), "join_p95": pct(joined, 95), "failed_joins": len(joins) - len(joined),
        "fps_per_sub": fps / n,
        # light subscribers: medians of the seconds from the offer to the answer, DTLS up, first RTP packet
        "join_steps": {k: pct([m[k] for m in marks if k in m], 50)
                       for k in ("answer", "dtls", "rtp", "frame", "live")},
        # the second frame: after a cached first keyframe, the fresh one (the picture starts moving)
        "live_p50": pct([m["live"] for m in marks if "live" in m], 50),
        "live_p95": pct([m["live"] for m in marks if "live" in m], 95),
    }


async def received(http: ClientSession, url: str) -> int:
    """RTP packets the SFU has received from the publisher (0 for the relay, which has no such count)."""
    async with http.get(url + "/stats") as r:
        if r.status != 200:
            return 0
        stats = await r.json()
    return sum(p["packets"] for s in stats for p in s["producers"])


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


async def drive(args: argparse.Namespace) -> None:
    make_clip()
    rows = []
    for mode, ns in (("sfu", args.n), ("relay", args.relay_n)):
        for n in ns:
            row = await measure(mode, n, args.seconds, min(args.procs, n))
            rows.append(row)
            note = f"  {mode} N={n}: idle {row['idle_cpu']:.3f} loaded {row['cpu']:.3f}"
            print(note, file=sys.stderr, flush=True)
    print("CPU%/sub: server CPU per subscriber at 30 fps (marginal over the publisher leg alone); "
          "fps/sub: video frames actually delivered per subscriber per second")
    print(markdown_header(["server", "N", "CPU%", "CPU%/sub", "subs/core", "fwd p50 ms", "fwd p99 ms", "join p50 ms",
                           "join p95 ms", "moving p50 ms", "moving p95 ms", "failed", "fps/sub"]))
    for r in rows:
        print(markdown_row([r["mode"], str(r["n"]), f"{r['cpu'] * 100:.1f}", f"{r['cpu_per_sub'] * 100:.3f}",
                            f"{r['subs_per_core']:.1f}", ms(r["delay_p50"]), ms(r["delay_p99"]), ms(r["join_p50"]),
                            ms(r["join_p95"]), ms(r["live_p50"]), ms(r["live_p95"]), str(r["failed_joins"]),
                            f"{r['fps_per_sub']:.1f}"]))
    for r in rows:
        steps = ", ".join(f"{k} {ms(v)}" for k, v in r["join_steps"].items() if v is not None)
        if steps:
            print(f"{r['mode']} N={r['n']}: join steps, medians in ms from the offer: {steps}")
    for r in rows:
        if r["send_us"] is not None:
            print(f"SFU N={r['n']}: Consumer.send costs {r['send_us']:.1f} µs of thread CPU per packet and "
                  f"subscriber: {r['send_subs_per_core']:.0f} subscribers per core for the send path alone")
    sfu = [r for r in rows if r["mode"] == "sfu"]
    relay = [r for r in rows if r["mode"] == "relay"]
    if sfu and relay:
        best_relay = max(r["subs_per_core"] for r in relay)
        for r in sfu:
            ratio = r["subs_per_core"] / best_relay
            print(f"SFU N={r['n']}: {ratio:.0f}x the MediaRelay subscribers per core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="role")
    run = sub.add_parser("run", help="the benchmark (default)")
    for p in (parser, run):
        p.add_argument("--n", type=lambda s: [int(x) for x in s.split(",")], default=[10])
        p.add_argument("--relay-n", type=lambda s: [int(x) for x in s.split(",") if x], default=[2])
        p.add_argument("--seconds", type=float, default=10.0)
        p.add_argument("--procs", type=int, default=4, help="subscriber processes")
        p.add_argument("--full-subscribers", action="store_true", help="aiortc's whole receive path")
    server = sub.add_parser("server")
    server.add_argument("mode", choices=["sfu", "relay"])
    publish = sub.add_parser("publish")
    publish.add_argument("url")
    publish.add_argument("seconds", type=float)
    subscribe = sub.add_parser("subscribe")
    subscribe.add_argument("url")
    subscribe.add_argument("count", type=int)
    subscribe.add_argument("seconds", type=float)
    subscribe.add_argument("out")
    subscribe.add_argument("--full", action="store_true")
    args = parser.parse_args()
    if args.role == "server":
        asyncio.run(run_server(args.mode))
    elif args.role == "publish":
        asyncio.run(run_publisher(args.url, args.seconds))
    elif args.role == "subscribe":
        asyncio.run(run_subscribers(args.url, args.count, args.seconds, args.out, light=not args.full))
    else:
        global FULL_SUBSCRIBERS
        FULL_SUBSCRIBERS = args.full_subscribers
        asyncio.run(drive(args))


if __name__ == "__main__":
    main()
