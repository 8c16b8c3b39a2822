"""``without_custom_ops(model)``: while an export traces its graphs, a model's stacks run on a
runner whose graphs hold no custom op, so that the SavedModel loads where seqkit is not
installed (the fused runner's XLA kernels, or the graph runner, in place of the native ones)."""

from __future__ import annotations

import contextlib

from seqkit.models.runner_choice import resolve_runner
from seqkit.models.seq2seq import Seq2SeqModel
from seqkit.plugins.registry import default_registry


def _stacks(model) -> list:
    """The ``SequenceModel`` stacks of a model: itself, or an encoder-decoder's two."""
    return [model.encoder, model.decoder] if isinstance(model, Seq2SeqModel) else [model]


@contextlib.contextmanager
def without_custom_ops(model):
    """Inside: every stack of ``model`` whose runner holds custom ops on ``"auto"``'s best
    runner that holds none; after: the runners it had."""
    stacks = _stacks(model)
    runners = [stack.runner for stack in stacks]
    try:
        for stack in stacks:
            if stack.runner.custom_ops:
                stack.runner = resolve_runner(
                    "auto", stack.cells, default_registry(), custom_ops=False
                )
        yield
    finally:
        for stack, runner in zip(stacks, runners, strict=True):
            stack.runner = runner
