"""Truncation strategies that break their contract, each in one way (tests/test_bad_plugins.py):
a window is (backprop_from, loss_from, end) with backprop_from <= loss_from < end <= length."""

import seqkit


class RaisingTruncation(seqkit.TruncationStrategy):
    def windows(self, length):
        raise ZeroDivisionError("division by zero")


class NoWindows(seqkit.TruncationStrategy):
    def windows(self, length):
        return iter(())


class PastTheEnd(seqkit.TruncationStrategy):
    def windows(self, length):
        yield seqkit.Window(0, 0, length + 5)


class LossBeforeBackprop(seqkit.TruncationStrategy):
    def windows(self, length):
        yield seqkit.Window(4, 2, length)


class NotWindows(seqkit.TruncationStrategy):
    def windows(self, length):
        yield (0, 0, length)


@seqkit.hookimpl
def seqkit_register_truncations(register):
    register("bad-raises", RaisingTruncation)
    register("bad-none", NoWindows)
    register("bad-past-end", PastTheEnd)
    register("bad-backwards", LossBeforeBackprop)
    register("bad-tuples", NotWindows)
