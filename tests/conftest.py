"""Shared test settings: quiet TensorFlow, seqkit's cache in a temporary folder, the native
kernels built once before the tests, a fresh default registry for each test, and the example
plugin's cells registered in this process where the plugin is not installed."""

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if not os.environ.get("SEQKIT_CACHE_DIR"):  # token files of the tests' corpora: not the home's
    os.environ["SEQKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="seqkit-test-cache-")

import pytest  # noqa: E402

EXAMPLE_PLUGIN = Path(__file__).parents[1] / "examples" / "seqkit-plugin-example"


def _register_the_example_plugin_in_process() -> None:
    """Where ``pip install ./examples/seqkit-plugin-example`` was not run (README's test
    command installs only seqkit), its source is put on ``sys.path`` and its entry points, as
    its pyproject.toml declares them, are added to the installed ones: the tests that use its
    cells (mgu, janet) run either way. Tests of the installation itself
    (``test_plugin_example.py``) still need the installed distribution, and say so."""
    if importlib.util.find_spec("seqkit_plugin_example") is not None:
        return
    from seqkit.plugins import loading as plugin_manager

    project = tomllib.loads((EXAMPLE_PLUGIN / "pyproject.toml").read_text(encoding="utf-8"))
    declared = project["project"]["entry-points"]["seqkit"]
    example = [metadata.EntryPoint(name, value, "seqkit") for name, value in declared.items()]
    installed = plugin_manager.seqkit_entry_points

    def with_the_example():
        return [*installed(), *example]

    with_the_example.installed_only = installed  # for tests that list the installed plugins
    # The package alone on sys.path, not its project folder: a folder where it was once built
    # holds a stale seqkit_plugin_example.egg-info, whose entry points would come in twice.
    source = Path(tempfile.mkdtemp(prefix="seqkit-example-"))
    atexit.register(shutil.rmtree, source, ignore_errors=True)
    (source / "seqkit_plugin_example").symlink_to(EXAMPLE_PLUGIN / "seqkit_plugin_example")
    sys.path.insert(0, str(source))
    plugin_manager.seqkit_entry_points = with_the_example


_register_the_example_plugin_in_process()


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
    from seqkit.plugins.registry import default_registry

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
