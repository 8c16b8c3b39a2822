"""seqkit's cache folder: the one place seqkit and the libraries it drives keep files of their
own outside a run directory (Keras' settings, matplotlib's font cache, built kernels, prepared
data).

    cache_dir()      # $SEQKIT_CACHE_DIR, else $XDG_CACHE_HOME/seqkit, else ~/.cache/seqkit
    keep_library_files_in_cache()   # the CLI: Keras, matplotlib write there, not in ~/.keras

A user's own ``KERAS_HOME`` or ``MPLCONFIGDIR`` is left as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_VARIABLE = "SEQKIT_CACHE_DIR"


def cache_dir() -> Path:
    """The folder seqkit caches in (not made here)."""
    chosen = os.environ.get(CACHE_VARIABLE, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "seqkit"


def keep_library_files_in_cache() -> None:
    """Point Keras' settings (``keras.json``) and matplotlib's config and font cache into
    ``cache_dir()``, unless the user set them; call before either library is imported."""
    root = cache_dir()
    os.environ.setdefault("KERAS_HOME", str(root / "keras"))
    os.environ.setdefault("MPLCONFIGDIR", str(root / "matplotlib"))
