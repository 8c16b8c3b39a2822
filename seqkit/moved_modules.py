"""The module paths of seqkit before its subpackages (0.x), kept working: ``import
seqkit.registry`` gives ``seqkit.plugins.registry`` itself, so that a plugin or a program
written against the old paths runs unchanged. ``docs/architecture.md`` maps the folders.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

MOVED = {
    "seqkit.attention": "seqkit.models.attention",
    "seqkit.beam_search": "seqkit.decoding.beam_search",
    "seqkit.bridge": "seqkit.models.bridge",
    "seqkit.config_keys": "seqkit.config.keys",
    "seqkit.corpus_reading": "seqkit.data.corpus",
    "seqkit.ctc_decoding": "seqkit.decoding.ctc",
    "seqkit.data_files": "seqkit.data.files",
    "seqkit.decoded_evaluation": "seqkit.decoding.scores",
    "seqkit.distribute": "seqkit.training.distribute",
    "seqkit.evaluation": "seqkit.training.evaluation",
    "seqkit.hookspecs": "seqkit.plugins.hookspecs",
    "seqkit.model": "seqkit.models.sequence",
    "seqkit.native_build": "seqkit.native.build",
    "seqkit.nonfinite": "seqkit.training.nonfinite",
    "seqkit.options": "seqkit.config.options",
    "seqkit.plugin_guard": "seqkit.plugins.guard",
    "seqkit.plugin_manager": "seqkit.plugins.loading",
    "seqkit.precision": "seqkit.training.precision",
    "seqkit.progress": "seqkit.training.progress",
    "seqkit.registry": "seqkit.plugins.registry",
    "seqkit.sampling": "seqkit.decoding.sampling",
    "seqkit.seq2seq_decoding": "seqkit.decoding.seq2seq",
    "seqkit.seq2seq_model": "seqkit.models.seq2seq",
    "seqkit.token_encoding": "seqkit.data.token_encoding",
    "seqkit.token_files": "seqkit.data.token_files",
    "seqkit.token_streams": "seqkit.data.token_streams",
    "seqkit.tokenisation": "seqkit.data.tokenisation",
    "seqkit.trainer": "seqkit.training.trainer",
    "seqkit.vocabulary": "seqkit.data.vocabulary",
    "seqkit.window_walk": "seqkit.training.window_walk",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        pass  # the module is the target, already executed


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(MOVED[fullname]))


def install() -> None:
    """Serve the old paths (once per process)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())  # before an editable install's finder
