"""The root of every error raised by ``store``."""


class StoreError(Exception):
    """Base class for storage errors."""


class ConfigurationError(StoreError):
    """The database URL or its options cannot be used."""
