"""Plugins: loading, registering, reporting broken ones, and the ``seqkit plugins`` command.

    .venv/bin/python -m pytest tests/test_plugins.py -q

Each fake third-party plugin is a real distribution on disk (a module and a ``.dist-info``
folder on ``sys.path``), so it reaches seqkit the way a pip-installed one does: through
``importlib.metadata.entry_points(group="seqkit")``, with its distribution's name and version.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli
from seqkit.plugins.loading import make_plugin_manager
from seqkit.plugins.registry import Registry, default_registry

BUILT_IN_CELLS = ["gru", "lstm", "mingru", "minlstm", "vanilla"]

TINY_CELL = '''
import seqkit


class TinyCell(seqkit.Cell):
    """Its output is the state it was given: enough to see that the registry built it."""

    @property
    def state_size(self):
        return (self.hidden_size,)

    def __call__(self, inputs, state):
        return state[0], state
'''


def cells_plugin(*names: str) -> str:
    """The source of a plugin module that registers TinyCell under each of ``names``, in order."""
    lines = "".join(f"    register({name!r}, TinyCell)\n" for name in names)
    return f"{TINY_CELL}\n\n@seqkit.hookimpl\ndef seqkit_register_cells(register):\n{lines}"


def install_fake_plugin(
    tmp_path,
    monkeypatch,
    dist: str,
    version: str,
    entry_points: dict[str, str],
    modules: dict[str, str],
) -> None:
    """Put a distribution ``dist==version`` on sys.path: ``modules`` (name -> source) and a
    dist-info whose entry_points.txt lists ``entry_points`` (plugin name -> module) under seqkit."""
    site = tmp_path / f"site-{dist}"
    site.mkdir()
    for name, source in modules.items():
        (site / f"{name}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    listed = "".join(f"{name} = {module}\n" for name, module in entry_points.items())
    (info / "entry_points.txt").write_text(f"[seqkit]\n{listed}")
    monkeypatch.syspath_prepend(str(site))  # undone after the test; also invalidates caches


@pytest.fixture
def mod(tmp_path):
    """Module names unique to this test, so no test is served another test's cached import."""
    return lambda short: f"fake_seqkit_{tmp_path.name}_{short}"


# Third-party plugins installed here (CI installs the example plugin) are left out, so that
# these tests see seqkit's built-ins and their own fake distributions only.
OTHER_DISTRIBUTIONS = {
    ep.dist.metadata["Name"] for ep in metadata.entry_points(group="seqkit") if ep.dist
} - {"seqkit"}


@pytest.fixture(autouse=True)
def _only_seqkit_and_fake_plugins(monkeypatch):
    from seqkit.plugins import loading as plugin_manager

    entry_points = plugin_manager.seqkit_entry_points
    installed = getattr(entry_points, "installed_only", entry_points)  # not conftest's example
    monkeypatch.setattr(
        plugin_manager,
        "seqkit_entry_points",
        lambda: [
            ep
            for ep in installed()
            if ep.dist is None or ep.dist.metadata["Name"] not in OTHER_DISTRIBUTIONS
        ],
    )


@pytest.fixture(autouse=True)
def _forget_fake_modules():
    yield
    for name in [name for name in sys.modules if name.startswith("fake_seqkit_")]:
        del sys.modules[name]


def rows(output: str) -> dict[tuple[str, str], str]:
    """The table of ``seqkit plugins``: (kind, name) -> provider."""
    table = output.split("\n\n")[0].splitlines()[1:]
    return {tuple(line.split()[:2]): line.split(maxsplit=2)[2] for line in table}


def broken_by_name() -> dict:
    return {broken.plugin.name: broken for broken in default_registry().broken}


def test_fake_distribution_is_seen_by_importlib_metadata(tmp_path, monkeypatch, mod):
    install_fake_plugin(
        tmp_path, monkeypatch, "fakedist", "1.2.3", {"tiny": mod("good")}, {mod("good"): "x = 1\n"}
    )
    (ep,) = [ep for ep in metadata.entry_points(group="seqkit") if ep.name == "tiny"]
    assert (ep.value, ep.dist.metadata["Name"], ep.dist.version) == (
        mod("good"),
        "fakedist",
        "1.2.3",
    )


def test_third_party_cell_is_registered_with_its_provider(tmp_path, monkeypatch, mod):
    install_fake_plugin(
        tmp_path, monkeypatch, "fakedist", "1.2.3",
        {"tiny": mod("good")}, {mod("good"): cells_plugin("tiny")},
    )  # fmt: skip
    assert seqkit.available("cell") == sorted([*BUILT_IN_CELLS, "tiny"])
    entry = default_registry().get("cell", "tiny")
    assert entry.plugin.provider == "fakedist==1.2.3"
    assert entry.plugin.name == "tiny"
    cell = seqkit.make_cell("tiny", 2, 3)
    assert type(cell).__name__ == "TinyCell"
    assert type(cell).__module__ == mod("good")
    assert (cell.input_size, cell.hidden_size, cell.state_size) == (2, 3, (3,))
    assert default_registry().broken == []


def test_plugin_that_fails_to_import_is_broken_and_builtins_work(tmp_path, monkeypatch, mod):
    install_fake_plugin(
        tmp_path, monkeypatch, "fakedist", "1.2.3",
        {"needs-libfoo": mod("bad")}, {mod("bad"): 'raise ImportError("needs libfoo 2.0")\n'},
    )  # fmt: skip
    assert seqkit.available("cell") == BUILT_IN_CELLS
    broken = broken_by_name()["needs-libfoo"]
    assert (broken.plugin.distribution, broken.plugin.version) == ("fakedist", "1.2.3")
    assert broken.reason == f"failed to import {mod('bad')!r}: ImportError: needs libfoo 2.0"
    assert seqkit.make_cell("lstm", 2, 3).state_size == (3, 3)


def test_misspelt_hook_argument_is_broken_and_names_it(tmp_path, monkeypatch, mod):
    source = "import seqkit\n\n@seqkit.hookimpl\ndef seqkit_register_cells(regster):\n    pass\n"
    install_fake_plugin(
        tmp_path, monkeypatch, "fakedist", "1.2.3",
        {"typo": mod("typo"), "tiny": mod("good")},
        {mod("typo"): source, mod("good"): cells_plugin("tiny")},
    )  # fmt: skip
    assert seqkit.available("cell") == sorted([*BUILT_IN_CELLS, "tiny"])
    broken = broken_by_name()["typo"]
    assert broken.plugin.provider == "fakedist==1.2.3"
    assert "regster" in broken.reason
    assert "seqkit_register_cells" in broken.reason


def test_misspelt_hook_name_is_broken_and_suggests_the_right_one(tmp_path, monkeypatch, mod):
    source = cells_plugin("tiny").replace("def seqkit_register_cells", "def seqkit_register_cels")
    install_fake_plugin(
        tmp_path, monkeypatch, "fakedist", "1.2.3", {"typo": mod("typo")}, {mod("typo"): source}
    )
    assert seqkit.available("cell") == BUILT_IN_CELLS
    assert broken_by_name()["typo"].reason == (
        "implements hooks that seqkit does not have: "
        "'seqkit_register_cels' (did you mean 'seqkit_register_cells'?)"
    )


def test_a_name_registered_twice_rejects_the_later_plugin_whole(tmp_path, monkeypatch, mod):
    # Entry points load seqkit's own first, then by plugin name: "a-first" before "b-second".
    install_fake_plugin(
        tmp_path, monkeypatch, "fakedist", "1.2.3",
        {"a-first": mod("first")}, {mod("first"): cells_plugin("shared")},
    )  # fmt: skip
    install_fake_plugin(
        tmp_path, monkeypatch, "otherdist", "0.4.0",
        {"b-second": mod("second"), "c-lstm": mod("lstm")},
        {
            mod("second"): cells_plugin("only-b", "shared"),
            mod("lstm"): cells_plugin("mine", "lstm"),
        },
    )  # fmt: skip
    assert seqkit.available("cell") == sorted([*BUILT_IN_CELLS, "shared"])  # no "only-b", no "mine"
    assert default_registry().get("cell", "shared").plugin.provider == "fakedist==1.2.3"
    assert default_registry().get("cell", "lstm").plugin.provider == f"seqkit=={seqkit.__version__}"
    broken = broken_by_name()
    assert set(broken) == {"b-second", "c-lstm"}
    assert broken["b-second"].plugin.provider == "otherdist==0.4.0"
    assert broken["b-second"].reason == (
        "registers cell 'shared', which fakedist==1.2.3 (plugin 'a-first') already provides"
    )
    assert broken["c-lstm"].reason == (
        f"registers cell 'lstm', which seqkit=={seqkit.__version__} (plugin 'lstm') "
        "already provides"
    )
    assert type(seqkit.make_cell("lstm", 2, 3)).__name__ == "LSTMCell"


def test_plugin_whose_hook_raises_is_broken_and_others_work(tmp_path, monkeypatch, mod):
    source = (
        "import seqkit\n\n@seqkit.hookimpl\ndef seqkit_register_cells(register):\n"
        "    register('early', dict)\n    raise RuntimeError('no licence file')\n"
    )
    install_fake_plugin(
        tmp_path, monkeypatch, "fakedist", "1.2.3",
        {"raiser": mod("raiser"), "tiny": mod("good")},
        {mod("raiser"): source, mod("good"): cells_plugin("tiny")},
    )  # fmt: skip
    assert seqkit.available("cell") == sorted([*BUILT_IN_CELLS, "tiny"])  # "early" was not kept
    broken = broken_by_name()["raiser"]
    assert broken.plugin.provider == "fakedist==1.2.3"
    assert broken.reason == "its cell hook raised RuntimeError: no licence file"


def test_factory_that_returns_no_cell_raises_plugin_error(tmp_path, monkeypatch, mod):
    source = (
        "import seqkit\n\n@seqkit.hookimpl\ndef seqkit_register_cells(register):\n"
        "    register('fake', lambda input_size, hidden_size: object())\n"
    )
    install_fake_plugin(
        tmp_path, monkeypatch, "fakedist", "1.2.3", {"liar": mod("liar")}, {mod("liar"): source}
    )
    with pytest.raises(seqkit.PluginError) as raised:
        seqkit.make_cell("fake", 2, 3)
    assert str(raised.value) == (
        "cell 'fake' from fakedist==1.2.3 built a object, which is not a seqkit.Cell."
    )


def test_disabled_plugin_is_not_registered_and_is_listed(monkeypatch):
    monkeypatch.setenv("SEQKIT_DISABLE_PLUGINS", "gru")
    assert seqkit.available("cell") == ["lstm", "mingru", "minlstm", "vanilla"]
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "\nDisabled by SEQKIT_DISABLE_PLUGINS: gru\n" in result.output
    assert ("cell", "gru") not in rows(result.output)
    assert ("cell", "lstm") in rows(result.output)


def test_a_disabled_plugin_is_blocked_in_the_plugin_manager(monkeypatch):
    monkeypatch.setenv("SEQKIT_DISABLE_PLUGINS", "gru")
    loaded = make_plugin_manager()
    assert loaded.manager.is_blocked("gru")
    assert not loaded.manager.has_plugin("gru") and loaded.manager.has_plugin("lstm")


def test_each_plugins_hooks_are_called_through_pluggy():
    """Pluggy's hook-call monitoring and tracing see seqkit's calls, one plugin at a time."""
    loaded = make_plugin_manager()
    called: list[tuple[str, list[str]]] = []
    loaded.manager.add_hookcall_monitoring(
        lambda hook, impls, kwargs: called.append((hook, [i.plugin_name for i in impls])),
        lambda outcome, hook, impls, kwargs: None,
    )
    Registry(loaded)
    assert ("seqkit_register_cells", ["gru"]) in called
    assert all(len(plugins) == 1 for _, plugins in called if plugins)


def test_unknown_cell_lists_the_known_ones_and_the_closest():
    with pytest.raises(seqkit.UnknownNameError) as raised:
        seqkit.make_cell("lstn", 2, 3)
    assert (
        str(raised.value) == "Unknown cell 'lstn'. Did you mean 'lstm'? "
        "Known cells: gru, lstm, mingru, minlstm, vanilla."
    )
    assert raised.value.closest == "lstm"


def test_unknown_kind_raises_unknown_name_error():
    with pytest.raises(seqkit.UnknownNameError) as raised:
        seqkit.available("cells")
    assert str(raised.value) == (
        "Unknown kind 'cells'. Did you mean 'cell'? "
        "Known kinds: cell, loss, runner, task, truncation."
    )


def test_unknown_option_names_the_option():
    with pytest.raises(seqkit.OptionError, match="'activation'") as raised:
        seqkit.make_cell("gru", 2, 3, activation="tanh")
    assert str(raised.value).startswith("cell 'gru': ")


def test_cli_plugins_lists_the_builtin_cells():
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    table = rows(result.output)
    for name in BUILT_IN_CELLS:
        assert table["cell", name] == f"seqkit=={seqkit.__version__} ({name})"
    assert "Broken" not in result.output


def test_cli_plugins_shows_a_broken_plugin_and_exits_0(tmp_path, monkeypatch, mod):
    install_fake_plugin(
        tmp_path, monkeypatch, "fakedist", "1.2.3",
        {"needs-libfoo": mod("bad")}, {mod("bad"): 'raise ImportError("needs libfoo 2.0")\n'},
    )  # fmt: skip
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert rows(result.output)["cell", "lstm"] == f"seqkit=={seqkit.__version__} (lstm)"
    section = result.output.split("Broken plugins (not loaded):\n")[1]
    assert section == (
        f"  needs-libfoo from fakedist==1.2.3: "
        f"failed to import {mod('bad')!r}: ImportError: needs libfoo 2.0\n"
    )


def test_cli_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"seqkit, version {seqkit.__version__}\n"


@pytest.mark.parametrize("module", ["seqkit", "seqkit.cli.main"])
def test_import_does_not_load_tensorflow(module):
    code = f"import sys, {module}; print('tensorflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "False\n"


def test_the_installed_command_hides_tensorflows_start_up_lines():
    """`seqkit plugins` as a user types it: the table, and none of TensorFlow's native chatter
    ("oneDNN custom operations are on", "Could not find cuda drivers") on standard error."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("SEQKIT_TF_LOGS", "TF_CPP_MIN_LOG_LEVEL")
    }
    code = "import sys; sys.argv = ['seqkit', 'plugins']; from seqkit.cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "cell        lstm" in done.stdout
    assert "oneDNN" not in done.stderr and "absl::InitializeLog" not in done.stderr, done.stderr
