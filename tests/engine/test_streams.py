"""Random streams (abm.engine.streams): one independent, reproducible generator per process."""

from __future__ import annotations

import numpy as np
import pytest

from abm.engine.streams import NAMES, Streams


def test_same_seed_same_draws_and_streams_are_distinct():
    a, b = Streams(5), Streams(5)
    for name in NAMES:
        assert np.array_equal(getattr(a, name).random(4), getattr(b, name).random(4))
    firsts = {float(getattr(Streams(5), name).random()) for name in NAMES}
    assert len(firsts) == len(NAMES)


def test_one_stream_drawing_more_does_not_shift_another():
    a, b = Streams(9), Streams(9)
    a.treatment.random(1000)  # an arm with more infusions draws more here
    assert np.array_equal(a.blood.random(5), b.blood.random(5))


def test_state_round_trip_continues_bit_identically():
    s = Streams(3)
    s.tcells.random(7)
    saved = s.state()
    expect = s.tcells.random(3)
    t = Streams(0)
    t.set_state(saved)
    assert np.array_equal(t.tcells.random(3), expect)
    with pytest.raises(ValueError, match="random streams"):
        t.set_state({"tcells": saved["tcells"]})


def test_a_seed_sequence_is_copied_not_consumed():
    seq = np.random.SeedSequence(11)
    first = Streams(seq).msc.random(2)
    assert np.array_equal(Streams(seq).msc.random(2), first)
    with pytest.raises(AttributeError):
        Streams(1).no_such_process  # noqa: B018
