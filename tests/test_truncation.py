"""Truncation strategies (bptt, tbptt, online): their windows, written out by hand, and errors.

A window is ``(backprop_from, loss_from, end)``: the loss covers ``[loss_from, end)`` and the
gradient flows back to ``backprop_from``. No TensorFlow is involved.

    .venv/bin/python -m pytest tests/test_truncation.py -q
"""

import itertools

import numpy as np
import pytest

import seqkit


def as_tuples(strategy, length):
    return [(w.backprop_from, w.loss_from, w.end) for w in strategy.windows(length)]


# (strategy name, options, length, windows): each list worked out by hand from
# "an update after steps k1, 2 k1, ... and n; back-propagated through at most k2 steps".
HAND_WORKED = [
    ("tbptt", {"k1": 3, "k2": 5}, 7, [(0, 0, 3), (1, 3, 6), (2, 6, 7)]),
    # k2 = k1 but n not a multiple of k1: the last update still reaches back k2 steps
    ("tbptt", {"k1": 3}, 7, [(0, 0, 3), (3, 3, 6), (4, 6, 7)]),
    ("tbptt", {"k1": 3, "k2": 3}, 9, [(0, 0, 3), (3, 3, 6), (6, 6, 9)]),
    ("tbptt", {"k1": 3, "k2": 5}, 11, [(0, 0, 3), (1, 3, 6), (4, 6, 9), (6, 9, 11)]),
    ("tbptt", {"k1": 3, "k2": 7}, 11, [(0, 0, 3), (0, 3, 6), (2, 6, 9), (4, 9, 11)]),
    ("tbptt", {"k1": 1, "k2": 2}, 4, [(0, 0, 1), (0, 1, 2), (1, 2, 3), (2, 3, 4)]),
    ("tbptt", {"k1": 2, "k2": 100}, 5, [(0, 0, 2), (0, 2, 4), (0, 4, 5)]),
    ("tbptt", {"k1": 5}, 3, [(0, 0, 3)]),  # k1 longer than the sequence: one update
    ("tbptt", {"k1": 4, "k2": 4}, 4, [(0, 0, 4)]),
    ("tbptt", {"k1": 1}, 3, [(0, 0, 1), (1, 1, 2), (2, 2, 3)]),
    ("tbptt", {"k1": np.int64(2)}, 3, [(0, 0, 2), (1, 2, 3)]),  # NumPy integers are steps too
    ("bptt", {}, 1, [(0, 0, 1)]),
    ("bptt", {}, 5, [(0, 0, 5)]),
    ("online", {}, 1, [(0, 0, 1)]),
    ("online", {}, 4, [(0, 0, 1), (0, 1, 2), (0, 2, 3), (0, 3, 4)]),
]


@pytest.mark.parametrize(
    "name, options, length, expected",
    HAND_WORKED,
    ids=[f"{n}-{o}-n{length}" for n, o, length, _ in HAND_WORKED],
)
def test_windows_worked_by_hand(name, options, length, expected):
    strategy = seqkit.make_truncation(name, **options)
    windows = list(strategy.windows(length))
    assert all(isinstance(w, seqkit.Window) for w in windows)
    assert as_tuples(strategy, length) == expected


def reference_windows(length, k1, k2):
    """TBPTT(k1, k2) straight from its definition, an independent second implementation."""
    ends = [min(t, length) for t in range(k1, length + k1, k1)] if length > 0 else []
    starts = [0, *ends[:-1]]
    return [(max(0, e - k2), s, e) for s, e in zip(starts, ends, strict=True)]


SWEEP = [
    (n, k1, k2)
    for n, k1 in itertools.product(range(1, 13), range(1, 14))
    for k2 in sorted({k1, k1 + 1, 2 * k1 + 1, 13})
]


def test_windows_partition_the_loss_steps_and_reach_back_k2():
    """For every small case: each step's loss is counted exactly once, in order; each update but
    the last takes k1 new steps; the gradient reaches back max(0, end - k2)."""
    for n, k1, k2 in SWEEP:
        got = as_tuples(seqkit.make_truncation("tbptt", k1=k1, k2=k2), n)
        assert got == reference_windows(n, k1, k2), (n, k1, k2)
        counted = [t for _, loss_from, end in got for t in range(loss_from, end)]
        assert counted == list(range(n)), (n, k1, k2)  # a partition of [0, n), in order
        assert [end - loss_from for _, loss_from, end in got[:-1]] == [k1] * (len(got) - 1)
        assert 1 <= got[-1][2] - got[-1][1] <= k1
        assert len(got) == -(-n // k1)  # ceil(n / k1) updates
        for backprop_from, loss_from, end in got:
            assert backprop_from == max(0, end - k2)
            assert backprop_from <= loss_from < end


@pytest.mark.parametrize("length", [1, 2, 7, 12])
def test_bptt_and_online_are_the_named_cases_of_tbptt(length):
    """bptt is TBPTT(n, n) and online TBPTT(1, n), for the length they are given."""
    tbptt = seqkit.make_truncation
    assert as_tuples(tbptt("bptt"), length) == [(0, 0, length)]
    assert as_tuples(tbptt("bptt"), length) == as_tuples(tbptt("tbptt", k1=length), length)
    online = as_tuples(tbptt("online"), length)
    assert online == [(0, t, t + 1) for t in range(length)]
    assert online == as_tuples(tbptt("tbptt", k1=1, k2=length), length)


@pytest.mark.parametrize("name, options", [("bptt", {}), ("online", {}), ("tbptt", {"k1": 3})])
def test_length_zero_has_no_windows(name, options):
    strategy = seqkit.make_truncation(name, **options)
    assert list(strategy.windows(0)) == []


def test_windows_can_be_listed_again():
    """A strategy is a pure schedule: asking twice gives the same windows."""
    strategy = seqkit.make_truncation("tbptt", k1=3, k2=5)
    assert as_tuples(strategy, 11) == as_tuples(strategy, 11)


def test_k2_defaults_to_k1():
    strategy = seqkit.make_truncation("tbptt", k1=4)
    assert (strategy.k1, strategy.k2) == (4, 4)
    assert repr(strategy) == "TBPTT(k1=4, k2=4)"


@pytest.mark.parametrize(
    "options, parts",
    [
        ({"k1": 0}, ("tbptt: k1", "positive integer", "got 0")),
        ({"k1": -1}, ("tbptt: k1", "positive integer", "got -1")),
        ({"k1": 1.5}, ("tbptt: k1", "positive integer", "got 1.5")),
        ({"k1": True}, ("tbptt: k1", "positive integer", "got True")),
        ({"k1": "3"}, ("tbptt: k1", "positive integer", "got '3'")),
        ({"k1": 3, "k2": 0}, ("tbptt: k2", "positive integer", "got 0")),
        ({"k1": 3, "k2": 2.0}, ("tbptt: k2", "positive integer", "got 2.0")),
        ({"k1": 4, "k2": 3}, ("tbptt: k2 (3) must be at least k1 (4)", "set k2 >= 4")),
    ],
    ids=["k1=0", "k1=-1", "k1=1.5", "k1=True", "k1='3'", "k2=0", "k2=2.0", "k2<k1"],
)
def test_bad_steps_raise_option_error(options, parts):
    """One line that names the option, what it must be and the value given (not a wording)."""
    with pytest.raises(seqkit.OptionError) as info:
        seqkit.make_truncation("tbptt", **options)
    assert "\n" not in str(info.value)
    for part in parts:
        assert part in str(info.value)


def test_named_cases_take_no_steps():
    """bptt and online have no k1 or k2: the registry names the option they do not take."""
    with pytest.raises(seqkit.OptionError, match=r"^truncation 'bptt': .*'k1'.*options are: none"):
        seqkit.make_truncation("bptt", k1=3)
