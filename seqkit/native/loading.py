"""Native kernels: a cell's recurrence over a TensorFlow custom op, and the library that holds it.

    LIBRARY = seqkit.NativeLibrary("my_kernels", [HERE / "my_ops.cc"], headers=[...])

    def my_native(ops, recurrence, xp, state, keep):       # ops: the loaded op library
        ...                                                # -> (outputs [T, B, O], final_state)

    seqkit.Recurrence(weight, pointwise, native_kernel=seqkit.NativeKernel(LIBRARY, my_native))

A ``NativeLibrary`` is built on first use (``seqkit.native.build``: cached per TensorFlow, compiler,
flags, sources and CPU, under a lock) and loaded with ``tf.load_op_library``. Where it cannot be
built or loaded (no compiler, another TensorFlow ABI, a read-only cache), or ``SEQKIT_NATIVE=0``
turns native kernels off, seqkit says so in one line on stderr, once, and ``available()`` is
false: the ``native`` runner then supports no cell and ``runner="auto"`` runs the XLA kernels.
A custom op exists only where its library is loaded, so no SavedModel holds one
(``Runner.custom_ops``).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from seqkit.native.build import NativeBuildError, build_library


def native_enabled() -> bool:
    """False where ``SEQKIT_NATIVE=0`` (or ``false``/``no``/``off``) turns native kernels off."""
    return os.environ.get("SEQKIT_NATIVE", "1").strip().lower() not in ("0", "false", "no", "off")


class NativeLibrary:
    """A custom-op library built from C++ ``sources`` on first ``load()``; loaded once."""

    def __init__(
        self,
        name: str,
        sources: Sequence[Path],
        headers: Sequence[Path] = (),
        blas: bool = True,
        info_op: str | None = None,
    ):
        self.name, self.sources, self.headers, self.blas = name, list(sources), list(headers), blas
        self.info_op = info_op  # an op of the library with no inputs: a string for the status
        self._lock = threading.Lock()
        self._loaded = False
        self._ops: Any = None
        self.status = "not loaded yet (built on first use)"

    @tf.autograph.experimental.do_not_convert  # plain Python, even when a trace first asks
    def load(self):
        """The loaded op module, or None where it cannot be built or loaded (said once)."""
        with self._lock:
            if not self._loaded:
                self._ops = self._build_and_load()
                self._loaded = True
            return self._ops

    def _build_and_load(self):
        if not native_enabled():
            return self._unavailable("turned off by SEQKIT_NATIVE=0")
        try:
            path = build_library(self.name, self.sources, self.headers, self.blas)
        except NativeBuildError as exc:
            return self._unavailable(str(exc))
        try:
            ops = tf.load_op_library(str(path))
        except (tf.errors.OpError, OSError) as exc:  # another TensorFlow's ABI, a bad binary
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            return self._unavailable(f"{path} does not load: {first}")
        self.status = f"loaded from {path}" + self._info(ops)
        return ops

    def _info(self, ops) -> str:
        """``"; "`` and what ``info_op`` says of the build (its kernels' form), or nothing."""
        if self.info_op is None:
            return ""
        with tf.init_scope():  # eagerly, even when a trace first asks for the library
            return "; " + getattr(ops, self.info_op)().numpy().decode()

    def _unavailable(self, reason: str) -> None:
        self.status = f"off: {reason}"
        print(
            f"seqkit: native kernels ({self.name}) {self.status}; running the XLA kernels.",
            file=sys.stderr,
            flush=True,
        )
        return None


NativeRun = Callable[..., Any]  # (ops, recurrence, xp, state, keep) -> (outputs, final_state)


@dataclass(frozen=True, eq=False)
class NativeKernel:
    """A ``seqkit.Kernel`` over a custom op of ``library``, batch-major (``xp`` ``[B, T, P]``,
    ``keep`` ``[B, T, 1]``, outputs ``[B, T, O]``): called as ``kernel(recurrence, xp, state,
    keep)``, it runs ``run(ops, recurrence, xp, state, keep)`` with the loaded ops.
    ``available()`` says whether the library is loaded (building it on first call).
    ``takes_rows``: ``run`` also takes ``xp`` as ``seqkit.TokenRows`` of the projected table
    ``[V, P]`` and the ids ``[B, T]``, reads each step's row by id and gives the table's
    gradient (the built-in kernels do); the native runner then never gathers ``[B, T, P]``."""

    library: NativeLibrary
    run: NativeRun
    takes_rows: bool = False

    def available(self) -> bool:
        """Whether the library builds and loads (False where it cannot, said once)."""
        return self.library.load() is not None

    def __call__(self, recurrence, xp, state, keep):
        ops = self.library.load()
        if ops is None:
            raise NativeBuildError(
                f"native kernel: the library {self.library.name} is {self.library.status}; "
                f"run the cell on the 'fused' runner instead."
            )
        return self.run(ops, recurrence, xp, state, keep)
