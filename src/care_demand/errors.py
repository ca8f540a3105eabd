"""Errors a user can act on. The command line prints their message, never a traceback."""

from __future__ import annotations

__all__ = ["CareDemandError", "ConfigError"]


class CareDemandError(Exception):
    """A problem with the user's inputs or settings; the message says what to do next."""


class ConfigError(CareDemandError, ValueError):
    """A configuration value that cannot be used (names the field and the file)."""
