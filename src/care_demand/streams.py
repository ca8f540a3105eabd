"""Every random stream of a projection, named in one place and derived from the run's seed.

A run has one integer seed (``AppConfig.seed``). Every random number a projection uses comes
from a stream keyed here, never from a global generator, so that

- the same data, configuration and seed give identical outputs, serial or parallel, on one
  machine or many (a stream depends on its key, not on the order work is done in);
- two scenarios run with the same seed share their luck (common random numbers): the same
  posterior draws, arrival paths, children's uniforms, rate walks and cost factors, so a
  paired difference between them is the scenario's effect and not noise.

The streams, by the ``numpy.random.SeedSequence`` key they are derived from:

========================  ===============================================  ====================
Stream                    Key                                              Used by
========================  ===============================================  ====================
hazard draws              ``SeedSequence(seed, spawn_key=(1,))``           which posterior draw
                                                                           each replicate uses
cost uncertainty          ``SeedSequence(seed, spawn_key=(2, r))``         ``finance.costs``
arrival paths             ``default_rng([seed, crc32(kind)])``             ``ArrivalModel``
flow model                ``SeedSequence(seed, spawn_key=(r, s, a, b))``   ``simulation.engine``
========================  ===============================================  ====================

``r`` is the replicate. The flow model's streams ``s`` are listed below with what ``a`` and
``b`` mean for each. Keys of different lengths never coincide, so the two-element cost keys
and the four-element flow-model keys are distinct even where their first elements agree.
The calibration's sampler has a seed of its own (``calibration.hazards.sampler.random_seed``),
so a cached posterior is reused whatever the run's seed.
"""

from __future__ import annotations

import zlib
from typing import Final

import numpy as np

__all__ = [
    "ARRIVALS",
    "CASELOAD",
    "COSTS",
    "COUNTS",
    "DRIFT",
    "EFFECTS",
    "FAMILY_NETWORK",
    "FOSTERING",
    "HARBOUR",
    "HAZARD_DRAWS",
    "HOMES",
    "LEAVERS",
    "LEVER_EFFECTS",
    "MORE",
    "arrival_rng",
    "cost_rng",
    "engine_rng",
    "hazard_draws_rng",
]

# First element of the run-level keys.
HAZARD_DRAWS: Final = 1
COSTS: Final = 2

# The flow model's streams (second element of ``(replicate, stream, a, b)``).
COUNTS: Final = 0  # arrivals' counts: a = arrival kind's position, b = month
ARRIVALS: Final = 1  # arriving children's uniforms: a = kind's position, b = month
CASELOAD: Final = 2  # the starting caseload's uniforms (a = b = 0)
FOSTERING: Final = 3  # foster households: a = 0 start, 1 recruitment, 2 resignations; b = month
HOMES: Final = 4  # reserved for children's homes
EFFECTS: Final = (
    5  # a replicate's draw of the Harbour's, Mockingbird's and family network's effects
)
MORE: Final = 6  # fresh uniforms for a child past its row: a = child key hash, b = refill
LEAVERS: Final = 7  # care leavers' support: a = 0 ends, 1 supported to 25
DRIFT: Final = 8  # the random walk on the transition rates
HARBOUR: Final = 9  # a referral averted or not: a = child key hash, b = the child's referral
# A family network meeting offered, its entry averted or not, a kinship carer found or not:
# a = child key hash, b = the child's approach to the edge of care.
FAMILY_NETWORK: Final = 10
# An uncertain scenario lever's multiplier: a = crc32 of the lever's name, b = 0.
LEVER_EFFECTS: Final = 11


def hazard_draws_rng(seed: int) -> np.random.Generator:
    """The generator that picks each replicate's draw from the hazards' posterior."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(HAZARD_DRAWS,)))


def cost_rng(seed: int, replicate: int) -> np.random.Generator:
    """The generator of replicate ``replicate``'s cost uncertainty."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(COSTS, int(replicate))))


def arrival_rng(seed: int, kind: str) -> np.random.Generator:
    """The generator of the arrival paths of one kind (independent of the other kinds)."""
    return np.random.default_rng([seed, zlib.crc32(kind.encode())])


def engine_rng(seed: int, replicate: int, stream: int, a: int, b: int) -> np.random.Generator:
    """The generator of one flow-model stream of one replicate (see the table above)."""
    key = (replicate, stream, a, b)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))
