"""What `pip install .` installs: every package of the source tree and every data file of the
built-in tasks. (The tests import seqkit from the source tree, so a folder that the install
leaves out would pass them and be missing for every user.)"""

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_folder_of_python_modules_is_a_package_that_the_install_finds():
    include = _setuptools()["packages"]["find"]["include"]
    folders = {
        path.parent
        for top in ("seqkit", "seqkit_plugins")
        for path in (ROOT / top).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    for folder in sorted(folders):
        name = ".".join(folder.relative_to(ROOT).parts)
        assert (folder / "__init__.py").is_file(), f"{name}: add an __init__.py, or pip skips it"
        assert any(fnmatch.fnmatch(name, pattern) for pattern in include), name


def test_every_data_file_of_the_tasks_is_installed():
    data = _setuptools()["package-data"]["seqkit_plugins.default_data"]
    folder = ROOT / "seqkit_plugins" / "default_data"
    files = [p.name for p in folder.iterdir() if p.suffix != ".py"]
    files = [name for name in files if name != "__pycache__"]
    assert files and all(any(fnmatch.fnmatch(n, g) for g in data) for n in files), files


def test_every_source_of_the_native_kernels_is_installed():
    """The C++ sources are built on the user's machine: a wheel without them has no kernels."""
    data = _setuptools()["package-data"]["seqkit_plugins"]
    folder = ROOT / "seqkit_plugins"
    files = [p.relative_to(folder).as_posix() for p in (folder / "cc").iterdir()]
    assert files and all(any(fnmatch.fnmatch(n, g) for g in data) for n in files), files
