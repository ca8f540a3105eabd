"""Errors a user can act on. The command line prints their message, never a traceback."""

from __future__ import annotations

__all__ = ["CareDemandError", "ConfigError", "NotFittedError"]


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
