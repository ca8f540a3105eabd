"""The hazard tables the engine walks, built per epoch of a scenario's levers."""

from __future__ import annotations

import numpy as np

from care_demand import vocab
from care_demand.calibration.hazard_exposure import MOVE
from care_demand.simulation.hazard_tables import _layout, _tables
from care_demand.simulation.system import code_of

PAIRS = [
    (vocab.CIN, None, vocab.CLOSED),
    (vocab.CIN, None, vocab.CARE),
    (vocab.CIN, None, vocab.CP),
    (vocab.CARE, vocab.INHOUSE_FOSTER, MOVE),
    (vocab.CARE, vocab.INHOUSE_FOSTER, vocab.RETURN_HOME),
    (vocab.CARE, vocab.INHOUSE_FOSTER, vocab.ADOPTION),
]


def _rates(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).gamma(2.0, 0.01, (len(PAIRS), 5, 4))


def test_each_cell_holds_the_total_rate_and_the_running_sums_of_the_moves() -> None:
    rates = _rates(1)
    factors = np.array([1.0, 0.0, 1.0, 0.5, 1.0, 1.0])
    tables, _ = _tables(rates, _layout(PAIRS), factors)
    cin = tables[code_of(vocab.CIN)]
    foster = tables[code_of(vocab.CARE, vocab.INHOUSE_FOSTER)]
    assert len(cin[0]) == 3 and len(foster[0]) == 3
    for age in range(5):
        for dur in range(4):
            total, sums = foster[1][age][dur]
            moves = rates[3:, age, dur] * factors[3:]
            assert sums == np.cumsum(moves).tolist()
            assert total == sums[-1]
            _, cin_sums = cin[1][age][dur]
            assert cin_sums[1] == cin_sums[0]  # the move into care held at zero


def test_an_epoch_keeps_the_tables_of_the_states_whose_rates_did_not_change() -> None:
    # A ramped lever cuts the horizon into an epoch a month, each changing one move: the
    # other states' tables are carried over, and every table equals one built afresh.
    layout = _layout(PAIRS)
    rates = _rates(2)
    first = _tables(rates, layout)
    ramped = rates.copy()
    ramped[3] *= 0.9  # in-house foster carers' placement moves
    second = _tables(ramped, layout, before=first)
    fresh, _ = _tables(ramped, layout)
    cin, foster = code_of(vocab.CIN), code_of(vocab.CARE, vocab.INHOUSE_FOSTER)
    assert second[0][cin] is first[0][cin]
    assert second[0][foster] is not first[0][foster]
    assert second[0] == fresh
    assert second[0][foster] != first[0][foster]
