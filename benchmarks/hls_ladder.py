"""HLS ladder: our PyAV pipeline vs the ffmpeg CLI on one 720x1280 job; LL-HLS latency; ladders at once.

Run: .venv/bin/python -m benchmarks.hls_ladder [--long]   (default: 20 s of input; --long: 60 s)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import ffmpeg

from transcode import fmp4
from transcode.encoder import VideoEncoder, X264Settings
from transcode.filesource import FileSource
from transcode.ladder import ladder_for
from transcode.storage import LocalStorage
from transcode.transcoder import HlsOptions, Transcoder

WIDTH, HEIGHT, FPS = 720, 1280, 30


def make_input(path: Path, seconds: int) -> Path:
    """A publisher-like source: H.264 with an IDR every 2 s, AAC audio; content that moves."""
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            "3000k",
            "-g",
            str(2 * FPS),
            "-keyint_min",
            str(2 * FPS),
            "-sc_threshold",
            "0",
            "-bf",
            "0",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-y",
            str(path),
        ],
        check=True,
    )
    return path


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def ours(source_path: Path, out: Path, *, parts: bool) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of our pipeline as fast as it goes; LL-HLS parts on or off."""
    source = await FileSource.open(source_path)
    options = HlsOptions(thumbnail_interval=10.0, part_duration=0.5 if parts else None)
    transcoder = Transcoder(source, LocalStorage(out), "live/bench", options)
    assert transcoder.ladder.top.copy, "the input's keyframe interval should allow a remuxed top rung"
    cpu, wall = cpu_self(), time.monotonic()
    await transcoder.run()
    return cpu_self() - cpu, time.monotonic() - wall


def ffmpeg_cli(source_path: Path, out: Path, settings: X264Settings) -> tuple[float, float, list[str]]:
    """The identical job on Debian's ffmpeg: the top rung copied, the same rungs scaled (bilinear) and encoded
    with the same x264 settings and forced IDRs every 2 s, AAC once, fMP4 HLS."""
    ladder = ladder_for(WIDTH, HEIGHT, Fraction(FPS), copy_top=True)
    encoded = ladder.rungs[1:]
    source = ffmpeg.input(str(source_path))
    split = source.video.filter_multi_output("split", len(encoded))
    streams = [source.video] + [
        split[i].filter("scale", rung.width, rung.height, flags="bilinear") for i, rung in enumerate(encoded)
    ]
    options: dict[str, object] = {"c:v:0": "copy", "c:a": "aac", "b:a": "128k", "ar": 48000, "ac": 2}
    for i, rung in enumerate(encoded, start=1):
        options.update(
            {
                f"c:v:{i}": "libx264",
                f"preset:v:{i}": settings.preset,
                f"b:v:{i}": rung.bit_rate,
                f"maxrate:v:{i}": rung.maxrate,
                f"bufsize:v:{i}": rung.bufsize,
                f"x264-params:v:{i}": settings.x264_params(20 * FPS),
                f"pix_fmt:v:{i}": "yuv420p",
            }
        )
    streams_map = " ".join(f"v:{i},agroup:aud" for i in range(len(streams))) + " a:0,agroup:aud"
    (out / "ff").mkdir(parents=True)
    node = (
        ffmpeg.output(
            *streams,
            source.audio,
            str(out / "ff" / "%v" / "index.m3u8"),
            format="hls",
            hls_time=2,
            hls_segment_type="fmp4",
            hls_playlist_type="vod",
            master_pl_name="master.m3u8",
            hls_segment_filename=str(out / "ff" / "%v" / "seg%d.m4s"),
            var_stream_map=streams_map,
            force_key_frames="expr:gte(t,n_forced*2)",
            **options,
        )
        .global_args("-v", "error")
        .overwrite_output()
    )
    args = node.compile()
    cpu, wall = cpu_children(), time.monotonic()
    subprocess.run(args, check=True)
    return cpu_children() - cpu, time.monotonic() - wall, args


async def live_run(source_path: Path, out: Path, ladders: int) -> tuple[float, list[float], float]:
    """``ladders`` live ladders at once from realtime sources: (wall s, frame latencies, CPU s)."""
    transcoders = []
    for i in range(ladders):
        source = await FileSource.open(source_path, realtime=True)
        options = HlsOptions(recording=False)
        transcoders.append(Transcoder(source, LocalStorage(out / f"l{ladders}"), f"live/{i}", options))
    cpu, wall = cpu_self(), time.monotonic()
    await asyncio.gather(*(t.run() for t in transcoders))
    latencies = [x for t in transcoders for x in t.frame_latencies]
    return time.monotonic() - wall, latencies, cpu_self() - cpu


def packaging(source_path: Path) -> None:
    """The fMP4 packaging choice: our box writer vs PyAV's mp4 muxer (CMAF movflags, 0.5 s fragments) into
    memory, on the 240p rung's packets: CPU per part, and how many parts late a part's bytes come out."""
    rung = ladder_for(WIDTH, HEIGHT, Fraction(FPS)).rungs[-1]
    encoder = VideoEncoder(rung, Fraction(FPS), X264Settings(), 600)
    samples = []
    with av.open(str(source_path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            samples.extend(encoder.encode(frame, i * 3000, i % (2 * FPS) == 0))
            if i >= 20 * FPS:
                break
    assert encoder.parameter_sets is not None
    per_part = FPS // 2
    parts = len(samples) // per_part
    started = time.process_time()
    fmp4.init_segment(encoder.track())
    for k in range(parts):
        chunk = samples[k * per_part : (k + 1) * per_part]
        fmp4.fragment(k + 1, chunk[0].dts, [fmp4.Sample(s.data, 3000, s.sync) for s in chunk])
    ours = (time.process_time() - started) / parts
    print("\nfMP4 packaging (240p rung, 0.5 s parts):")
    print("| writer | CPU ms per part | mean parts of delay before a closed part's bytes are out |")
    print("|---|---|---|")
    print(f"| ours (transcode.fmp4) | {ours * 1000:.2f} | 0 (written as its last frame is in) |")
    for flags in ("", "flush_packets"):
        buffer = io.BytesIO()
        options = {"movflags": "frag_keyframe+empty_moov+default_base_moof+cmaf", "frag_duration": "500000"}
        if flags:
            options["flush_packets"] = "1"
        started = time.process_time()
        muxer = av.open(buffer, "w", format="mp4", options=options)
        stream = muxer.add_stream("h264", rate=FPS)
        stream.width, stream.height = rung.width, rung.height
        stream.codec_context.extradata = encoder.parameter_sets.avcc()
        lag = 0
        for index, sample in enumerate(samples[: parts * per_part]):
            packet = av.Packet(sample.data)
            packet.pts = packet.dts = sample.pts
            packet.time_base = Fraction(1, 90_000)
            packet.stream = stream
            packet.is_keyframe = sample.sync
            muxer.mux(packet)
            if (index + 1) % per_part == 0:  # part k's last frame is in: is its moof out?
                lag += (index + 1) // per_part - buffer.getvalue().count(b"moof")
        muxer.close()
        cpu = (time.process_time() - started) / parts
        name = "PyAV mp4 muxer" + (" + flush_packets" if flags else "")
        print(f"| {name} | {cpu * 1000:.2f} | {lag / parts:.2f} |")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--long", action="store_true", help="60 s of input instead of 20 s")
    parser.add_argument("--live-seconds", type=int, default=None, help="length of each live run (default 10)")
    parser.add_argument("--max-ladders", type=int, default=4)
    parser.add_argument("--live-only", action="store_true", help="only the live ladders and latency part")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the side-by-side comparison")
    args = parser.parse_args()
    seconds = 60 if args.long else 20
    live_seconds = args.live_seconds or (30 if args.long else 10)
    work = Path(tempfile.mkdtemp(prefix="hls-bench-"))
    try:
        src = make_input(work / "input.mp4", seconds if not args.live_only else 1)
        live_src = make_input(work / "live.mp4", live_seconds)
        settings = X264Settings()
        print(
            f"input: {seconds} s of {WIDTH}x{HEIGHT}@{FPS} H.264 + AAC; rungs 720p (copy), 480p/360p/240p "
            f"x264 {settings.preset}; {os.cpu_count()} cores"
        )
        if not args.live_only:
            # side by side, in alternating order; medians of the rounds (and of the ratios)
            runs: dict[str, list[tuple[float, float]]] = {"ll": [], "plain": [], "ffmpeg": []}
            ratios = []
            ff_args: list[str] = []
            for round_ in range(args.rounds):
                out = work / f"round{round_}"
                order = ["ll", "plain", "ffmpeg"] if round_ % 2 == 0 else ["ffmpeg", "plain", "ll"]
                for name in order:
                    if name == "ffmpeg":
                        cpu, wall, ff_args = ffmpeg_cli(src, out, settings)
                        runs[name].append((cpu, wall))
                    else:
                        runs[name].append(await ours(src, out / name, parts=name == "ll"))
                ratios.append(runs["plain"][-1][0] / runs["ffmpeg"][-1][0])
            print(f"\n({args.rounds} round(s), alternating order; medians)")
            print("| pipeline | CPU s | wall s | realtime factor | CPU s per media s |")
            print("|---|---|---|---|---|")
            labels = {
                "plain": "ours, HLS (the identical job)",
                "ll": "ours, LL-HLS (plus 0.5 s parts and their playlists)",
                "ffmpeg": "ffmpeg CLI",
            }
            for name, label in labels.items():
                cpu = statistics.median(r[0] for r in runs[name])
                wall = statistics.median(r[1] for r in runs[name])
                print(f"| {label} | {cpu:.1f} | {wall:.1f} | {seconds / wall:.2f}x | {cpu / seconds:.3f} |")
            print(
                f"\nCPU ratio ours / ffmpeg, identical job: {statistics.median(ratios):.2f} (median; rounds: "
                + ", ".join(f"{r:.2f}" for r in ratios)
                + ")"
            )
            packaging(src)
            print("ffmpeg command:", " ".join(ff_args[:6]), "…")

        print(f"\nlive ladders at once ({live_seconds} s realtime sources each):")
        print(f"(load average before: {os.getloadavg()[0]:.1f}; other work here competes for the cores)")
        print(
            "| ladders | wall s | CPU s | cores used | ladders 2 cores carry by CPU | latency p50 s | p95 s | kept up |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for count in range(1, args.max_ladders + 1):
            wall, latencies, cpu = await live_run(live_src, work / "live", count)
            p50, p95 = pct(latencies, 50), pct(latencies, 95)
            kept_up = wall < live_seconds * 1.1 + 1.0 and p95 < 2.0
            per_ladder = cpu / live_seconds / count  # cores one ladder needs in real time
            print(
                f"| {count} | {wall:.1f} | {cpu:.1f} | {cpu / wall:.2f} | {2 / per_ladder:.1f} | {p50:.3f} |"
                f" {p95:.3f} | {'yes' if kept_up else 'no'} |"
            )
            if not kept_up:
                break
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
