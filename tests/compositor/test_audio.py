"""Program sound: two sine tones of different pitch come out mixed (both FFT peaks), muting one removes its
peak, loud voices together are limited instead of wrapping around."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pytest

from engine.compositor import Compositor, LayoutKind, ProgramSound, ProgramSource
from engine.compositor.mixer import FRAME_SAMPLES, AudioMixer, soft_limit
from tests.compositor.media import ManualClock, source, spectrum_peaks, tone

pytestmark = pytest.mark.timeout(30)

TICK = Fraction(1, 50)  # 20 ms


async def next_sound(program: ProgramSource) -> ProgramSound:
    async for item in program.items():
        if isinstance(item, ProgramSound):
            return item
    raise AssertionError("the program ended")


class TwoVoices:
    """Alice sings 440 Hz at 44.1 kHz mono (resampled by the mixer); Bob 1 kHz at 48 kHz stereo."""

    def __init__(self, compositor: Compositor, clock: ManualClock, amplitude: float = 0.3) -> None:
        self.alice, self.bob = source(), source()
        compositor.join("alice", "Alice", audio=self.alice)
        compositor.join("bob", "Bob", audio=self.bob)
        self.compositor, self.clock = compositor, clock
        self.program = compositor.program(size=1000)
        self.amplitude = amplitude
        self.index = 0

    async def record(self, seconds: float) -> npt.NDArray[np.float32]:
        """Program audio over ``seconds`` of clock time, 20 ms at a time."""
        chunks = []
        for _ in range(round(seconds * 50)):
            self.alice.push(tone(440, self.index, rate=44_100, samples=882, layout="mono", amplitude=self.amplitude))
            self.bob.push(tone(1000, self.index, amplitude=self.amplitude))
            self.index += 1
            await self.clock.advance(TICK)
            target = round((self.clock.now() - START) * 50)
            while True:
                sound = await next_sound(self.program)
                chunks.append(sound.frame.to_ndarray())
                assert sound.frame.samples == FRAME_SAMPLES and sound.frame.sample_rate == 48_000
                if round(sound.time * 50) >= target:
                    break
        return np.concatenate(chunks, axis=1).astype(np.float32)


START = ManualClock().now()


async def test_two_tones_mixed_and_mute_removes_one(clock: ManualClock) -> None:
    compositor = Compositor(kind=LayoutKind.GRID, clock=clock)
    try:
        voices = TwoVoices(compositor, clock)
        compositor.start()
        await voices.record(0.2)  # jitter buffers fill
        both = await voices.record(0.5)
        peaks = spectrum_peaks(both)
        assert {440, 1000} <= peaks, peaks
        assert all(abs(p - 440) <= 10 or abs(p - 1000) <= 10 for p in peaks), peaks
        compositor.mute("bob")
        await voices.record(0.1)
        alice_only = await voices.record(0.5)
        peaks = spectrum_peaks(alice_only, floor=0.02)
        assert 440 in peaks and not any(abs(p - 1000) <= 20 for p in peaks), peaks
        compositor.mute("bob", False)
        await voices.record(0.1)
        assert {440, 1000} <= spectrum_peaks(await voices.record(0.5))
    finally:
        await compositor.close()


async def test_loud_voices_are_limited_not_wrapped(clock: ManualClock) -> None:
    compositor = Compositor(kind=LayoutKind.GRID, clock=clock)
    try:
        voices = TwoVoices(compositor, clock, amplitude=0.9)  # together up to 1.8x full scale
        compositor.start()
        await voices.record(0.2)
        loud = await voices.record(0.3)
        assert np.abs(loud).max() < 1.0  # nothing at or past full scale
        assert np.abs(loud).max() > 0.9  # but loud
        assert {440, 1000} <= spectrum_peaks(loud)
    finally:
        await compositor.close()


def test_soft_limit_is_monotonic_and_transparent_below_the_knee() -> None:
    x = np.linspace(-3, 3, 10_001, dtype=np.float32).reshape(1, -1)
    y = soft_limit(x)
    assert np.all(np.diff(y[0]) >= 0)  # order kept: no wrap-around
    assert np.abs(y).max() < 1.0
    quiet = np.abs(x) <= 0.8
    assert np.array_equal(y[quiet], x[quiet])


def test_mixer_pads_a_late_participant_with_silence_and_rebuffers() -> None:
    mixer = AudioMixer()
    mixer.add("a")
    for i in range(3):
        mixer.push("a", tone(440, i))
    chunks = [mixer.mix() for _ in range(5)]
    assert all(c.shape == (2, FRAME_SAMPLES) for c in chunks)
    assert np.abs(chunks[0]).max() > 0.2 and np.abs(chunks[2]).max() > 0.2
    assert np.abs(chunks[3]).max() == 0 and np.abs(chunks[4]).max() == 0  # dry: silence, no stall
    assert mixer.underruns("a") == 1
    mixer.push("a", tone(440, 3))
    assert np.abs(mixer.mix()).max() == 0  # re-priming: waits for 40 ms before playing again
    mixer.push("a", tone(440, 4))
    assert np.abs(mixer.mix()).max() > 0.2


def test_mixer_sums_in_float_and_limits() -> None:
    """Two loud 48 kHz voices: the mix is exactly the soft-limited float sum, where int16 addition wraps."""
    mixer = AudioMixer()
    frames = {name: [tone(pitch, i, amplitude=0.9) for i in range(2)] for name, pitch in (("a", 440), ("b", 1000))}
    for name, chunk in frames.items():
        mixer.add(name)
        for frame in chunk:
            mixer.push(name, frame)
    mixed = mixer.mix()
    a = frames["a"][0].to_ndarray().reshape(-1, 2).T.astype(np.float32) / 32768
    b = frames["b"][0].to_ndarray().reshape(-1, 2).T.astype(np.float32) / 32768
    assert np.allclose(mixed, soft_limit((a + b).astype(np.float32)), atol=1e-4)
    wrapped = (frames["a"][0].to_ndarray() + frames["b"][0].to_ndarray()).reshape(-1, 2).T  # int16 overflow
    peak = int(np.argmax(a[0] + b[0]))
    assert a[0, peak] + b[0, peak] > 1.2 and wrapped[0, peak] < 0  # int16 would flip the peak's sign
    assert 0.8 < mixed[0, peak] < 1.0
