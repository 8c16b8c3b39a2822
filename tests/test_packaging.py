"""What `pip install .` installs: every package of the source tree and every data file of the
built-in tasks. (The tests import seqkit from the source tree, so a package left out of
pyproject.toml's explicit list would pass them and be missing for every user.)"""

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _package_of(folder: Path) -> str:
    parts = folder.relative_to(ROOT).parts
    return ".".join(("seqkit_plugins", *parts[1:]) if parts[0] == "plugins" else parts)


def test_every_package_of_the_source_tree_is_installed():
    found = {
        _package_of(init.parent)
        for top in ("seqkit", "plugins")
        for init in (ROOT / top).rglob("__init__.py")
    }
    listed = set(_setuptools()["packages"])
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    for package in listed:
        assert _setuptools()["package-dir"][package]  # each has its folder named


def test_every_data_file_of_the_tasks_is_installed():
    data = _setuptools()["package-data"]["seqkit_plugins.default_data"]
    files = [p.name for p in (ROOT / "plugins" / "default_data").iterdir() if p.suffix != ".py"]
    files = [name for name in files if name != "__pycache__"]
    assert files and all(any(fnmatch.fnmatch(n, g) for g in data) for n in files), files


def test_every_source_of_the_native_kernels_is_installed():
    """The C++ sources are built on the user's machine: a wheel without them has no kernels."""
    data = _setuptools()["package-data"]["seqkit_plugins"]
    files = [p.relative_to(ROOT / "plugins").as_posix() for p in (ROOT / "plugins/cc").iterdir()]
    assert files and all(any(fnmatch.fnmatch(n, g) for g in data) for n in files), files
