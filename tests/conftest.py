"""Shared test settings: quiet TensorFlow, the native kernels built once before the tests, and a
fresh default registry for each test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _native_kernels_built():
    """The native kernels' library, built (or loaded from the cache) before any test, so that its
    one "compiling" line never lands in a test that checks what a program prints. Where it cannot
    build, its one line says why and the tests that need it fail (tests/test_native_kernels.py)."""
    from seqkit_plugins.native_kernels import LIBRARY

    LIBRARY.load()


@pytest.fixture(autouse=True)
def _fresh_default_registry():
    """Tests that change the environment (SEQKIT_DISABLE_PLUGINS, fake plugins) see it."""
    from seqkit.registry import default_registry

    default_registry.cache_clear()
    yield
    default_registry.cache_clear()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """A small generated corpus for tiny char-lm runs (the bad-input matrices share it)."""
    import random

    rng = random.Random(2)
    words = "every bad input gets one clear line and the run stays whole".split()
    lines = [" ".join(rng.choice(words) for _ in range(8)) + "." for _ in range(60)]
    path = tmp_path_factory.mktemp("data") / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def pristine_run(corpus, tmp_path_factory):
    """A finished tiny run that a bad-input case may damage a copy of."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from bad_input_matrix import make_pristine_run

    return make_pristine_run(corpus, tmp_path_factory.mktemp("runs") / "run")
