"""The examples in seqkit's docstrings run as doctests with README's test command.

``testpaths`` names the ``seqkit`` package beside ``tests``; of its modules, only those whose
docstrings hold a ``>>>`` example are imported and collected (so that a module that needs an
optional package, such as ``seqkit.export.torch_format``, is never imported to look for none).
``python -m pytest seqkit`` runs the doctests alone; ``--doctest-modules`` is not needed.
"""

from pathlib import Path

from _pytest.doctest import DoctestModule

PACKAGE = Path(__file__).parent / "seqkit"


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix != ".py" or PACKAGE not in file_path.parents:
        return None
    if parent.config.getoption("doctestmodules"):  # pytest's own collection does it then
        return None
    if ">>>" not in file_path.read_text(encoding="utf-8"):
        return None
    return DoctestModule.from_parent(parent, path=file_path)
