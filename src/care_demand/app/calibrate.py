"""The browser app's Calibration page, as plain functions: fit the rates, say how it went.

:func:`start_calibration` fits the transition hazards (on the chosen reference period) and
the arrival trends in a background thread, through the same functions as the main job
(:func:`care_demand.pipeline.load` and :func:`care_demand.pipeline.calibrate`), so the fit
lands in the calibration cache and the runs that follow reuse it.
:func:`diagnostics_in_words` turns the sampler's diagnostics into sentences a commissioner
can act on: whether the rates can be used and, if not, what to change.
"""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from care_demand.app.actions import compose
from care_demand.app.settings import WHOLE_RECORD, AppSettings, RatePeriod
from care_demand.calibration.hazard_settings import ConvergenceChecks
from care_demand.calibration.hazards import ConvergenceError, HazardConvergenceWarning
from care_demand.calibration.reference import reference_label
from care_demand.data import InvalidDataError
from care_demand.errors import CareDemandError
from care_demand.pipeline import calibrate, load

__all__ = [
    "CalibrationJob",
    "Verdict",
    "diagnostics_in_words",
    "start_calibration",
]

# The page's steps and the share of the bar done when each starts.
_STEPS = {
    "reading": (0.05, "reading the data"),
    "hazards": (
        0.15,
        "fitting the transition rates (a minute or two the first time; "
        "seconds when the same data and period were fitted before)",
    ),
    "done": (1.0, "finished"),
}


@dataclass(frozen=True)
class Verdict:
    """Whether the fitted rates can be used, in a headline and sentences."""

    ok: bool
    headline: str
    sentences: tuple[str, ...]


def diagnostics_in_words(diagnostics: dict[str, Any], checks: ConvergenceChecks) -> Verdict:
    """The sampler's diagnostics in plain words, with what to do when a check fails."""
    rhat = float(diagnostics.get("max_rhat", float("nan")))
    ess = float(diagnostics.get("min_ess_bulk", float("nan")))
    div = int(diagnostics.get("divergences", 0))
    said: list[str] = []
    todo: list[str] = []
    if rhat <= checks.max_rhat:
        said.append(
            f"The independent runs of the sampler agree (largest R-hat {rhat:.3f}; it must be "
            f"at most {checks.max_rhat:g})."
        )
    else:
        said.append(
            f"The independent runs of the sampler disagree about some rates (largest R-hat "
            f"{rhat:.3f}, above {checks.max_rhat:g})."
        )
        todo.append(
            "run with more tuning and draws (calibration.hazards.sampler.tune and .draws, doubled)"
        )
    if ess >= checks.min_ess_bulk:
        said.append(
            f"Every rate rests on enough independent draws (at least {ess:,.0f}; "
            f"{checks.min_ess_bulk:,.0f} needed)."
        )
    else:
        said.append(
            f"Some rates rest on too few independent draws ({ess:,.0f}; "
            f"{checks.min_ess_bulk:,.0f} needed)."
        )
        todo.append("run with more draws (calibration.hazards.sampler.draws, doubled)")
    if div <= checks.max_divergences:
        said.append("The sampler met no difficulty (no divergent transitions).")
    else:
        said.append(f"The sampler met difficulty {div} times (divergent transitions).")
        todo.append(
            "raise calibration.hazards.sampler.target_accept (e.g. 0.95 to 0.98) or choose a "
            "longer reference period, so that rare moves have more events"
        )
    ok = not todo
    if ok:
        headline = "Converged: the fitted rates can be used."
    else:
        headline = "Not converged: do not rely on runs with these rates yet."
        said.append("To fix it: " + "; ".join(todo) + ".")
    return Verdict(ok, headline, tuple(said))


@dataclass
class CalibrationJob:
    """A fit of the rates in a background thread; the page polls :meth:`snapshot`."""

    overrides: list[str]
    state: str = "running"  # running, done, failed
    step: str = ""
    fraction: float = 0.0
    error: str = ""
    verdict: Verdict | None = None
    details: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        """Whether the fit has ended (done or failed)."""
        return self.state != "running"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the fit to end; whether it ended within ``timeout`` seconds."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.finished

    def _set(self, key: str) -> None:
        fraction, step = _STEPS[key]
        with self._lock:
            self.fraction, self.step = fraction, step

    def run(self) -> None:
        """Read the data, fit the hazards and the arrival trends (the thread's body)."""
        try:
            config = compose(self.overrides)
            self._set("reading")
            history = load(config)[1]
            self._set("hazards")
            with warnings.catch_warnings():  # the verdict below says it in words
                warnings.simplefilter("ignore", HazardConvergenceWarning)
                fitted = calibrate(history, config)
            diagnostics = dict(fitted.hazards.diagnostics_)
            self.verdict = diagnostics_in_words(diagnostics, config.calibration.hazards.checks)
            self.details = {
                "Record": f"{history.window_start:%-d %B %Y} to {history.window_end:%-d %B %Y}",
                "Reference period the rates are fitted on": (
                    reference_label(history, config.calibration) or "the whole record"
                ),
                "Rates fitted": f"{diagnostics.get('pairs_sampled', '')}",
                "From the cache": "yes" if fitted.hazards.from_cache_ else "no (sampled now)",
                "Time taken": f"{time.monotonic() - self.started:.0f} s",
            }
            self._set("done")
            self.state = "done"
        except ConvergenceError as exc:
            self.verdict = Verdict(
                False,
                "Not converged: runs will stop until the rates converge.",
                (
                    "The sampler's checks failed, so the rates are not trustworthy: "
                    + str(exc).removeprefix("transition hazards did not converge: "),
                ),
            )
            self._set("done")
            self.state = "done"
        except InvalidDataError as exc:
            self._fail(exc.report.format().splitlines()[0])
        except CareDemandError as exc:
            self._fail(str(exc))
        except Exception as exc:  # the page must hear of any failure rather than wait
            self._fail(f"unexpected error: {type(exc).__name__}: {exc}")

    def _fail(self, message: str) -> None:
        with self._lock:
            self.error = message
            self.state = "failed"


def start_calibration(
    settings: AppSettings,
    data_path: str | None,
    period: RatePeriod = WHOLE_RECORD,
) -> CalibrationJob:
    """Fit the rates of ``data_path`` (``None``: the example) on ``period``."""
    overrides = settings.run_overrides("full", data_path, period)
    job = CalibrationJob(overrides=overrides)
    job._thread = threading.Thread(target=job.run, name="care-demand-app-fit", daemon=True)
    job._thread.start()
    return job
