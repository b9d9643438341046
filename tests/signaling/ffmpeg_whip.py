"""Publish a generated test pattern and tone with FFmpeg's WHIP muxer (inside PyAV), as a new user would.

Run in its own process (``python -m tests.signaling.ffmpeg_whip URL TOKEN SECONDS [CERT KEY]``): PyAV holds
the GIL while FFmpeg does its HTTP and DTLS I/O, so it must not share a process with the server.
"""

from __future__ import annotations

import fractions
import sys
import time

import av
import numpy as np


def push(url: str, token: str, seconds: float, cert: str | None = None, key: str | None = None) -> None:
    options = {"authorization": token}
    if cert and key:
        options |= {"cert_file": cert, "key_file": key}
    out = av.open(url, "w", format="whip", options=options)
    video = out.add_stream(
        "libx264",
        rate=30,
        options={
            "tune": "zerolatency",
            "preset": "ultrafast",
            "profile": "baseline",
            "bf": "0",
            "g": "30",
        },
    )
    video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
    audio = out.add_stream("libopus", rate=48000)
    audio.layout = "stereo"
    start = time.monotonic()
    n = audio_pts = 0
    t = np.arange(960) / 48000
    while time.monotonic() - start < seconds:
        img = np.full((240, 320, 3), 40, np.uint8)
        img[:, (n * 4) % 320 :][:, :20] = 220
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts, frame.time_base = n, fractions.Fraction(1, 30)
        for packet in video.encode(frame):
            out.mux(packet)
        while audio_pts < (n + 1) * 1600:
            tone = (np.sin(2 * np.pi * 440 * (t + audio_pts / 48000)) * 8000).astype(np.int16)
            samples = np.repeat(tone, 2).reshape(1, -1)
            aframe = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
            aframe.sample_rate, aframe.pts, aframe.time_base = 48000, audio_pts, fractions.Fraction(1, 48000)
            for packet in audio.encode(aframe):
                out.mux(packet)
            audio_pts += 960
        n += 1
        time.sleep(max(0.0, start + n / 30 - time.monotonic()))
    out.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    cert, key = (args[3], args[4]) if len(args) >= 5 else (None, None)
    push(args[0], args[1], float(args[2]), cert, key)
