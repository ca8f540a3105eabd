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

import sys
import zlib
from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.random.bit_generator import ISeedSequence

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
    "engine_rngs",
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


# ---------------------------------------------------------------------------------------
# Many flow-model streams at once
#
# Seeding one generator spends most of its time in ``SeedSequence``'s hashing, called from
# Python once per key: about 20 microseconds, and a replicate seeds some 700 streams (the
# arrivals' counts and children of each kind and month, the foster carers of each month).
# :func:`engine_rngs` hashes a batch of keys with numpy instead, by the algorithm numpy's
# ``SeedSequence`` documents and keeps stable (O'Neill's ``seed_seq_fe``: a pool of four
# 32-bit words, each entropy word hashed and mixed into every pool word, then the pool
# hashed out into the generator's state), so every generator is the one
# :func:`engine_rng` gives for its key. ``tests/test_streams.py`` checks it against numpy.

_MASK = 0xFFFFFFFF
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875  # hashing entropy into the pool
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED  # hashing the pool out into a state
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_POOL = 4


def _words(value: int) -> list[int]:
    """An integer's 32-bit words, least significant first (0 is one word)."""
    words = []
    while True:
        words.append(value & _MASK)
        value >>= 32
        if not value:
            return words


# An entropy word: a Python integer, or a uint64 array of 32-bit values (one per key).
_Word = int | np.ndarray


class _Mixer:
    """``SeedSequence``'s hashing of entropy words into its pool. The same arithmetic serves
    Python integers (the words every key shares) and ``uint64`` arrays of 32-bit values (a
    word per key): each result is masked to 32 bits, and numpy's wrapping of an array's
    subtraction leaves the low 32 bits right."""

    def __init__(self) -> None:
        self.const = _INIT_A

    def hashed(self, value: _Word) -> _Word:
        value = value ^ self.const
        self.const = (self.const * _MULT_A) & _MASK
        value = (value * self.const) & _MASK
        return value ^ (value >> 16)

    def mix_in(self, pool: list[_Word], word: _Word) -> None:
        """Hash ``word`` into every word of ``pool``."""
        for dst in range(_POOL):
            mixed = (_MIX_L * pool[dst] - _MIX_R * self.hashed(word)) & _MASK
            pool[dst] = mixed ^ (mixed >> 16)

    def pool(self, entropy: list[int]) -> list[_Word]:
        """The pool after hashing ``entropy`` in."""
        pool = [self.hashed(entropy[i] if i < len(entropy) else 0) for i in range(_POOL)]
        for src in range(_POOL):
            for dst in range(_POOL):
                if src != dst:
                    mixed = (_MIX_L * pool[dst] - _MIX_R * self.hashed(pool[src])) & _MASK
                    pool[dst] = mixed ^ (mixed >> 16)
        for word in entropy[_POOL:]:
            self.mix_in(pool, word)
        return pool


class _Hashed(ISeedSequence):
    """A seed sequence whose state was hashed already (four 64-bit words for ``PCG64``)."""

    __slots__ = ("_state",)

    def __init__(self, state: np.ndarray) -> None:
        self._state = state

    def generate_state(self, n_words: int, dtype: type = np.uint32) -> np.ndarray:
        """The state hashed for ``PCG64``: four 64-bit words."""
        if n_words != 4 or np.dtype(dtype) != np.uint64:
            raise ValueError("a hashed engine stream seeds PCG64 only")
        return self._state


def engine_rngs(
    seed: int, replicate: int, stream: int, a: Sequence[int], b: Sequence[int]
) -> list[np.random.Generator]:
    """The generators of many keys ``(a[i], b[i])`` of one flow-model stream of one
    replicate, each the one :func:`engine_rng` gives for its key, seeded together."""
    a_words = np.asarray(a, dtype=np.int64)
    b_words = np.asarray(b, dtype=np.int64)
    if a_words.shape != b_words.shape or a_words.ndim != 1:
        raise ValueError("engine_rngs: a and b must be sequences of the same length")
    simple = (
        sys.byteorder == "little"
        and seed >= 0
        and replicate >= 0
        and stream >= 0
        and not ((a_words < 0) | (a_words > _MASK) | (b_words < 0) | (b_words > _MASK)).any()
    )
    if not simple:  # keys of more than one word each: numpy's own, one at a time
        return [
            engine_rng(seed, replicate, stream, int(x), int(y))
            for x, y in zip(a_words, b_words, strict=True)
        ]
    run = _words(seed)
    run += [0] * (_POOL - len(run))  # a seed with a spawn key fills the pool first
    mixer = _Mixer()
    pool = mixer.pool(run + _words(replicate) + _words(stream))  # shared by every key
    for word in (a_words.astype(np.uint64), b_words.astype(np.uint64)):
        mixer.mix_in(pool, word)
    state = np.empty((a_words.size, 2 * _POOL), dtype=np.uint32)
    const = _INIT_B
    for i in range(2 * _POOL):
        value = pool[i % _POOL] ^ const
        const = (const * _MULT_B) & _MASK
        value = (value * const) & _MASK
        state[:, i] = value ^ (value >> 16)
    states = state.view(np.uint64)  # pairs of 32-bit words, low first, as numpy joins them
    return [np.random.Generator(np.random.PCG64(_Hashed(row))) for row in states]
