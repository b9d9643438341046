"""The aiohttp application: composition root, configuration, CLI, HTTP conventions and REST domains."""
