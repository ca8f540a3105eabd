"""Errors a user can act on. The command line prints their message, never a traceback."""

from __future__ import annotations

__all__ = ["CareDemandError", "ConfigError", "NotFittedError", "problem_lines"]


class CareDemandError(Exception):
    """A problem with the user's inputs or settings; the message says what to do next."""


class ConfigError(CareDemandError, ValueError):
    """A configuration value that cannot be used (names the field and the file)."""


class NotFittedError(CareDemandError, ValueError, AttributeError, RuntimeError):
    """A method that needs a fitted model was called before the model's ``fit``.

    Raised by :class:`~care_demand.calibration.HazardModel` and
    :class:`~care_demand.calibration.ArrivalModel`. Like scikit-learn's error of the same
    name it is a ``ValueError`` and an ``AttributeError`` (so ``hasattr`` on a fitted
    attribute reads ``False``); it is also a ``RuntimeError``, what an unfitted model raised
    before.
    """


def problem_lines(message: str) -> list[str]:
    """A failure's message as its lines, without blank ones and, for a heading ending in
    ":" over one line per problem (a :class:`ConfigError`'s "correct these values:"),
    without the heading: the problems themselves."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return lines[1:]
    return lines or ["unknown error"]
