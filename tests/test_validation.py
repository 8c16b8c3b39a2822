"""seqkit.validation: one check of each kind of argument, for every component that takes one."""

import math
import re

import numpy as np
import pytest

from seqkit.errors import ConfigError, OptionError
from seqkit.validation import one_of, real_number, whole_number


@pytest.mark.parametrize("value", [True, False, 1.0, "3", None, np.float32(2)])
def test_whole_number_refuses_what_is_no_whole_number(value):
    given = re.escape(repr(value))
    with pytest.raises(OptionError, match=f"k1 must be a positive integer, got {given}"):
        whole_number("k1", value, minimum=1)


def test_whole_number_takes_numpy_integers_and_gives_a_python_int():
    found = whole_number("k1", np.int64(7), minimum=1)
    assert found == 7 and type(found) is int


@pytest.mark.parametrize(
    "minimum, maximum, value, words",
    [
        (0, None, -1, "an integer of at least 0"),
        (2, None, 1, "an integer of at least 2"),
        (1, 256, 257, "a whole number from 1 to 256"),
        (None, None, "x", "an integer"),
    ],
)
def test_whole_number_says_what_is_allowed(minimum, maximum, value, words):
    with pytest.raises(OptionError, match=f"n must be {words}, got"):
        whole_number("n", value, minimum, maximum)


def test_the_caller_chooses_the_error_type_and_a_hint():
    with pytest.raises(ConfigError, match=r"--length must be .*, got 0; give e\.g\. 200\.$"):
        whole_number("--length", 0, 1, 10, error=ConfigError, hint="give e.g. 200")


@pytest.mark.parametrize("value", [True, "0.5", math.nan, 1.0, -0.1])
def test_real_number_refuses_bools_text_nan_and_values_outside(value):
    with pytest.raises(OptionError, match=r"dropout must be a number in \[0, 1\)"):
        real_number("dropout", value, minimum=0, below=1)


def test_real_number_takes_ints_and_numpy_floats():
    assert real_number("lr", 1, above=0) == 1.0
    assert real_number("lr", np.float32(0.5), above=0) == 0.5
    with pytest.raises(OptionError, match="lr must be a positive number, got 0"):
        real_number("lr", 0, above=0)


def test_one_of_lists_the_allowed_values_in_order():
    assert one_of("nonfinite", "skip", ("stop", "skip")) == "skip"
    with pytest.raises(OptionError, match="must be one of 'stop', 'skip'; got 'ignore'"):
        one_of("nonfinite", "ignore", ("stop", "skip"))
    with pytest.raises(OptionError, match=r"got \['stop'\]"):  # unhashable, asked of a dict
        one_of("nonfinite", ["stop"], {"stop": 1})


def test_trainer_refuses_a_bool_clip_norm():
    from seqkit.training.trainer import check_options

    with pytest.raises(OptionError, match="clip_norm must be a positive number, got True"):
        check_options(True, "stop")
