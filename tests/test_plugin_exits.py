"""Plugin code that tries to end the process or to write into a command's output: a plugin
that calls ``sys.exit`` (at import, in a hook, in a factory) or raises ``KeyboardInterrupt``
itself is a broken plugin, while a real Ctrl-C still stops; its prints go to standard error.

    .venv/bin/python -m pytest tests/test_plugin_exits.py -q
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli
from seqkit.plugins.registry import default_registry

sys.path.insert(0, str(Path(__file__).parent))
from test_plugins import (  # noqa: E402
    BUILT_IN_CELLS,
    _forget_fake_modules,  # noqa: F401 (autouse fixtures, shared)
    _only_seqkit_and_fake_plugins,  # noqa: F401
    broken_by_name,
    cells_plugin,
    install_fake_plugin,
    rows,
)


@pytest.fixture
def mod(tmp_path):
    """Module names unique to this test (as in test_plugins.py)."""
    return lambda short: f"fake_seqkit_{tmp_path.name}_{short}"


def hook_body(body: str) -> str:
    """A plugin whose cell hook registers nothing and runs ``body``."""
    head = "import sys\nimport seqkit\n\n@seqkit.hookimpl\ndef seqkit_register_cells(register):\n"
    return f"{head}    {body}\n"


def install(tmp_path, monkeypatch, module: str, source: str, name: str = "rogue") -> None:
    install_fake_plugin(tmp_path, monkeypatch, "roguedist", "0.1", {name: module}, {module: source})


IMPORT = "failed to import {module!r}: "  # the start of an import failure's reason
# case: (the plugin module's source, the broken plugin's reason; {module} is the module's name)
EXITS = {
    "import-exit-3": ("import sys\nsys.exit(3)\n", IMPORT + "SystemExit with exit code 3"),
    "import-exit-none": ("import sys\nsys.exit()\n", IMPORT + "SystemExit with exit code 0"),
    "import-exit-message": (
        "import sys\nsys.exit('needs a GPU')\n",
        IMPORT + "SystemExit with exit code 1: needs a GPU",
    ),
    "import-keyboard-interrupt": (
        "raise KeyboardInterrupt\n",
        IMPORT + "KeyboardInterrupt raised by the plugin itself (no Ctrl-C was pressed)",
    ),
    "import-generator-exit": ("raise GeneratorExit('odd')\n", IMPORT + "GeneratorExit: odd"),
    "hook-exit-0": (hook_body("sys.exit(0)"), "its cell hook raised SystemExit with exit code 0"),
    "hook-exit-7": (
        hook_body("raise SystemExit(7)"), "its cell hook raised SystemExit with exit code 7"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(EXITS))
def test_a_plugin_that_exits_is_broken_and_the_others_work(tmp_path, monkeypatch, mod, case):
    source, reason = EXITS[case]
    install(tmp_path, monkeypatch, mod("rogue"), source)
    assert seqkit.available("cell") == BUILT_IN_CELLS
    broken = broken_by_name()["rogue"]
    assert broken.plugin.provider == "roguedist==0.1"
    assert broken.reason == reason.format(module=mod("rogue"))
    assert seqkit.make_cell("gru", 2, 3).state_size == (3,)


def test_seqkit_plugins_lists_an_exiting_plugin_as_broken_and_exits_0(tmp_path, monkeypatch, mod):
    install(tmp_path, monkeypatch, mod("rogue"), "import sys\nsys.exit(3)\n")
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert rows(result.output)["cell", "lstm"] == f"seqkit=={seqkit.__version__} (lstm)"
    section = result.output.split("Broken plugins (not loaded):\n")[1]
    assert section == (
        f"  rogue from roguedist==0.1: failed to import {mod('rogue')!r}: "
        "SystemExit with exit code 3\n"
    )


def test_a_factory_that_exits_raises_a_plugin_error(tmp_path, monkeypatch, mod):
    source = (
        "import sys\nimport seqkit\n\n@seqkit.hookimpl\ndef seqkit_register_cells(register):\n"
        "    register('quitter', lambda input_size, hidden_size: sys.exit(4))\n"
    )
    install(tmp_path, monkeypatch, mod("rogue"), source)
    with pytest.raises(seqkit.PluginError) as raised:
        seqkit.make_cell("quitter", 2, 3)
    assert str(raised.value) == (
        "cell 'quitter' from roguedist==0.1 failed to build: SystemExit with exit code 4"
    )


def test_a_real_ctrl_c_during_a_plugins_import_still_stops(tmp_path, monkeypatch, mod):
    """The signal's KeyboardInterrupt, raised while the plugin's code runs, goes on."""
    source = "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)\n"
    install(tmp_path, monkeypatch, mod("slow"), source)
    # Python's own Ctrl-C handler, as in a user's program (a test worker may ignore SIGINT).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            seqkit.available("cell")
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_plugins_prints_go_to_standard_error_not_a_commands_output(tmp_path, monkeypatch, mod):
    source = cells_plugin("tiny").replace(
        "import seqkit\n", "import seqkit\nprint('hello from the import')\n", 1
    )
    source = source.replace("    register(", "    print('hello from the hook')\n    register(")
    install(tmp_path, monkeypatch, mod("chatty"), source, name="chatty")
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "hello" not in result.stdout
    assert ("cell", "tiny") in rows(result.stdout)
    assert result.stderr == "hello from the import\nhello from the hook\n"
    assert default_registry().broken == []
