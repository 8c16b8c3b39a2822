"""Checks of one argument: a whole number, a real number, or one of a few values. Each returns
the value (a whole number as a Python ``int``) or raises ``error`` (``OptionError`` unless the
caller names another) with one line that names the argument, what it must be, and the value.

``bool`` is never a number here, though Python counts it as an int; NumPy's integers are whole
numbers and NumPy's floats real ones.

>>> from seqkit.validation import one_of, real_number, whole_number
>>> whole_number("RNN: hidden_size", 128, minimum=1)
128
>>> whole_number("RNN: hidden_size", True, minimum=1)
Traceback (most recent call last):
seqkit.errors.OptionError: RNN: hidden_size must be a positive integer, got True.
>>> whole_number("--beam-width", 0, minimum=1, maximum=256)
Traceback (most recent call last):
seqkit.errors.OptionError: --beam-width must be a whole number from 1 to 256, got 0.
>>> real_number("dropout", 1.0, minimum=0, below=1)
Traceback (most recent call last):
seqkit.errors.OptionError: dropout must be a number in [0, 1), got 1.0.
>>> one_of("nonfinite", "ignore", ("stop", "skip"))
Traceback (most recent call last):
seqkit.errors.OptionError: nonfinite must be one of 'stop', 'skip'; got 'ignore'.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from seqkit.errors import OptionError


def is_whole_number(value: Any) -> bool:
    """True for an ``int`` or a NumPy integer, False for ``bool`` and everything else."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def is_real_number(value: Any) -> bool:
    """True for a whole number, a ``float`` or a NumPy float, False for ``bool``."""
    return is_whole_number(value) or isinstance(value, float | np.floating)


def whole_number(
    what: str,
    value: Any,
    minimum: int | None = None,
    maximum: int | None = None,
    *,
    error: type[Exception] = OptionError,
    hint: str = "",
) -> int:
    """``value`` as an ``int`` from ``minimum`` to ``maximum`` (each included, None: no bound);
    ``hint`` (e.g. ``"give e.g. 200"``) ends the message after a semicolon."""
    if not is_whole_number(value) or not _within(value, minimum, maximum):
        if maximum is not None:
            low = "any integer" if minimum is None else f"{minimum:,}"
            allowed = f"a whole number from {low} to {maximum:,}"
        elif minimum == 1:
            allowed = "a positive integer"
        elif minimum is not None:
            allowed = f"an integer of at least {minimum}"
        else:
            allowed = "an integer"
        raise error(_message(what, allowed, value, hint))
    return int(value)


def real_number(
    what: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    error: type[Exception] = OptionError,
    allowed: str = "",
    hint: str = "",
) -> float:
    """``value`` as a ``float`` from ``minimum`` to ``maximum`` (each included), above ``above``
    and below ``below`` (None: no bound; a NaN is inside no bound); ``allowed`` replaces the
    words that say what it must be."""
    inside = is_real_number(value) and (above is None or value > above)
    if not inside or not _within(value, minimum, maximum) or not (below is None or value < below):
        words = allowed or _number_words(minimum, maximum, above, below)
        raise error(_message(what, words, value, hint))
    return float(value)


def one_of(
    what: str, value: Any, allowed: Collection[Any], *, error: type[Exception] = OptionError
) -> Any:
    """``value`` when it is one of ``allowed``, whose items the message lists in order."""
    if not _is_among(value, allowed):
        words = ", ".join(repr(item) for item in allowed)
        raise error(f"{what} must be one of {words}; got {value!r}.")
    return value


def _within(value, minimum, maximum) -> bool:
    """``minimum <= value <= maximum`` (None: no bound); False for a NaN."""
    return (minimum is None or value >= minimum) and (maximum is None or value <= maximum)


def _is_among(value: Any, allowed: Collection[Any]) -> bool:
    try:
        return value in allowed
    except TypeError:  # an unhashable value asked of a dict or set
        return False


def _number_words(minimum, maximum, above, below) -> str:
    """What a number must be, in words: ``a number in [0, 1)``, ``a positive number``, ..."""
    if minimum is not None and below is not None:
        return f"a number in [{minimum}, {below})"
    if minimum is not None and maximum is not None:
        return f"a number in [{minimum}, {maximum}]"
    if above == 0 and (minimum, maximum, below) == (None, None, None):
        return "a positive number"
    bounds = [
        f"{words} {bound}"
        for words, bound in (
            ("at least", minimum),
            ("at most", maximum),
            ("above", above),
            ("below", below),
        )
        if bound is not None
    ]
    return " ".join(["a number", " and ".join(bounds)]) if bounds else "a number"


def _message(what: str, allowed: str, value: Any, hint: str) -> str:
    return f"{what} must be {allowed}, got {value!r}{'; ' + hint if hint else ''}."
