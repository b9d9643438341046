"""The browser console: static pages served by the app at ``/``."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
