"""The audio mixer: every participant's sound at 48 kHz stereo, summed in float32 and soft-limited.

Each participant has a small jitter buffer fed by their decoder at the network's pace; the compositor's
clock takes one 20 ms frame (Opus's default frame size, RFC 6716 §2.1.4) from every buffer per tick. Summing
in float32 cannot wrap around the way int16 addition does; the limiter then bends only the peaks above
``KNEE`` smoothly towards full scale, so loud voices together saturate gently instead of clipping.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

RATE = 48_000
CHANNELS = 2
FRAME_SAMPLES = 960  # 20 ms at 48 kHz
FRAME_SECONDS = FRAME_SAMPLES / RATE
PREBUFFER = 2 * FRAME_SAMPLES  # a (re)starting participant is heard once 40 ms are buffered
MAX_BUFFER = 10 * FRAME_SAMPLES  # 200 ms: more than that is latency, the oldest goes
KNEE = 0.8
CEILING = 0.99  # the limiter's asymptote, just under full scale (float32 tanh reaches 1.0 exactly)

Samples = npt.NDArray[np.float32]


def soft_limit(mix: Samples, knee: float = KNEE) -> Samples:
    """Identity below ``knee``; above it ``knee + (c - knee)·tanh((|x| - knee) / (c - knee))`` with ``c`` the
    ceiling: continuous with slope 1 at the knee, monotonic, and never past the ceiling, so the int16 or
    Opus encode never clips."""
    out = mix.copy()
    over = np.abs(mix) > knee
    if over.any():
        room = CEILING - knee
        peaks = mix[over]
        out[over] = np.sign(peaks) * (knee + room * np.tanh((np.abs(peaks) - knee) / room))
    return out


class _Track:
    def __init__(self) -> None:
        self.resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        self.buffer: Samples = np.zeros((CHANNELS, 0), np.float32)
        self.primed = False
        self.underruns = 0

    def push(self, frame: av.AudioFrame) -> None:
        frame.pts = None  # the resampler counts its own output; senders' timestamps are not ours
        chunks = [r.to_ndarray() for r in self.resampler.resample(frame)]
        if not chunks:
            return
        self.buffer = np.concatenate([self.buffer, *chunks], axis=1).astype(np.float32, copy=False)
        if self.buffer.shape[1] > MAX_BUFFER:
            self.buffer = self.buffer[:, -MAX_BUFFER:]
        if self.buffer.shape[1] >= PREBUFFER:
            self.primed = True

    def take(self) -> Samples | None:
        """The next 20 ms, or None while (re)buffering after running dry."""
        if not self.primed:
            return None
        have = self.buffer.shape[1]
        if have < FRAME_SAMPLES:
            self.underruns += 1
            self.primed = False
            chunk = np.zeros((CHANNELS, FRAME_SAMPLES), np.float32)
            chunk[:, :have] = self.buffer
            self.buffer = self.buffer[:, :0]
            return chunk
        chunk, self.buffer = self.buffer[:, :FRAME_SAMPLES], self.buffer[:, FRAME_SAMPLES:]
        return chunk


class AudioMixer:
    def __init__(self) -> None:
        self._tracks: dict[str, _Track] = {}

    def add(self, participant: str) -> None:
        self._tracks.setdefault(participant, _Track())

    def remove(self, participant: str) -> None:
        self._tracks.pop(participant, None)

    def push(self, participant: str, frame: av.AudioFrame) -> None:
        track = self._tracks.get(participant)
        if track is not None:
            track.push(frame)

    def buffered(self, participant: str) -> int:
        track = self._tracks.get(participant)
        return 0 if track is None else int(track.buffer.shape[1])

    def underruns(self, participant: str) -> int:
        track = self._tracks.get(participant)
        return 0 if track is None else track.underruns

    def mix(self, muted: Iterable[str] = ()) -> Samples:
        """The next 20 ms of the program: every track advances, muted ones are left out of the sum."""
        silent = set(muted)
        total = np.zeros((CHANNELS, FRAME_SAMPLES), np.float32)
        for participant, track in self._tracks.items():
            chunk = track.take()
            if chunk is not None and participant not in silent:
                total += chunk
        return soft_limit(total)

    @staticmethod
    def frame(samples: Samples, index: int) -> av.AudioFrame:
        """``samples`` as the ``index``-th 20 ms program frame (pts in samples, time base 1/48000)."""
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout="stereo")
        frame.sample_rate = RATE
        frame.pts = index * FRAME_SAMPLES
        frame.time_base = Fraction(1, RATE)
        return frame
