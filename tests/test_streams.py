"""The flow model's random streams seeded many at a time are numpy's, key by key."""

from __future__ import annotations

import numpy as np
import pytest

from care_demand import streams


@pytest.mark.parametrize("seed", [0, 20220401, 2**31 - 1, 2**40 + 7, 2**130 + 3])
def test_streams_seeded_together_are_those_seeded_one_by_one(seed: int) -> None:
    keys = np.random.default_rng(seed % 2**32)
    a = [0, 1, 4, 2**31 - 1, 2**32 - 1, *keys.integers(0, 2**32, 40).tolist()]
    b = [0, 59, 7, 2**32 - 1, 0, *keys.integers(0, 2**16, 40).tolist()]
    for replicate, stream in [(0, streams.COUNTS), (199, streams.ARRIVALS), (3, streams.MORE)]:
        together = streams.engine_rngs(seed, replicate, stream, a, b)
        assert len(together) == len(a)
        for rng, x, y in zip(together, a, b, strict=True):
            alone = streams.engine_rng(seed, replicate, stream, x, y)
            assert rng.bit_generator.state == alone.bit_generator.state
            assert np.array_equal(rng.random(3), alone.random(3))


def test_keys_of_more_than_one_word_are_seeded_as_numpy_seeds_them() -> None:
    a, b = [2**32, 5], [1, 2**33 + 1]
    together = streams.engine_rngs(11, 2, streams.HARBOUR, a, b)
    for rng, x, y in zip(together, a, b, strict=True):
        assert rng.integers(2**62) == streams.engine_rng(11, 2, streams.HARBOUR, x, y).integers(
            2**62
        )
    assert streams.engine_rngs(11, 2, streams.HARBOUR, [], []) == []
    with pytest.raises(ValueError, match="same length"):
        streams.engine_rngs(11, 2, streams.HARBOUR, [1, 2], [3])
