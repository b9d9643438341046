"""The compositor's settings: defaults in code (vertical 720x1280 at 30 fps, H.264), env names, bad values
refused with the variable named."""

from __future__ import annotations

import pytest

from api.config import ConfigError, Settings
from engine.compositor import Canvas, EncoderSettings, VideoCodec


def test_defaults_make_a_vertical_h264_program() -> None:
    settings = Settings.from_env({})
    canvas = Canvas(settings.compositor_width, settings.compositor_height)
    encoder = EncoderSettings(video_codec=VideoCodec(settings.compositor_codec),
                              video_bit_rate=settings.compositor_bit_rate)
    assert (canvas.width, canvas.height, settings.compositor_fps) == (720, 1280, 30)
    assert encoder.video_codec is VideoCodec.H264


def test_environment_and_bad_values() -> None:
    settings = Settings.from_env({"MIXILLO_COMPOSITOR_CODEC": "VP8", "MIXILLO_COMPOSITOR_FPS": "25"})
    assert (settings.compositor_codec, settings.compositor_fps) == ("VP8", 25)
    for name, value in [("MIXILLO_COMPOSITOR_WIDTH", "721"), ("MIXILLO_COMPOSITOR_CODEC", "AV1"),
                        ("MIXILLO_COMPOSITOR_FPS", "0")]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})
