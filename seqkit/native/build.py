"""Compiling a TensorFlow custom-op library from C++ sources, once per machine kind, into a cache.

    path = build_library("seqkit_kernels", [Path("lstm_ops.cc")], headers=[Path("gemm.h")])

The library is compiled with the installed TensorFlow's own flags (``tf.sysconfig``), the C++
compiler ``$CXX`` (default ``g++``), ``-O3 -march=native`` (``$SEQKIT_NATIVE_MARCH`` names another
target; ``-mno-avx512fp16`` where it has AVX512-FP16, which the Eigen in TensorFlow's headers
does not compile with), and, where the ``scipy-openblas32`` wheel is installed and ``blas`` is
asked for, OpenBLAS's ``sgemm`` (``-DSEQKIT_OPENBLAS``; it measured faster than Eigen's GEMM,
which ``SEQKIT_NATIVE_GEMM=eigen`` builds instead) for the products ``cc/packed_weight.h`` has no
vector kernel for.
It is cached in seqkit's cache (``native/``) by a key over everything that changes the binary: the
TensorFlow version and flags, the compiler's version, the sources and headers, the BLAS, and the
CPU's instruction-set flags (``-march=native`` compiles for this CPU only). Two processes that
build at once take a file lock: the second waits, then loads what the first built. The binary
is written under a temporary name and renamed into place, so a reader never sees half a file.

Errors are ``NativeBuildError``, with a one-line reason (no compiler, a compile error, a cache
directory that cannot be written).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from seqkit.cache import cache_dir
from seqkit.errors import SeqkitError, os_reason

BUILD_TIMEOUT_S = 600  # a busy 2-core machine compiles the kernels in well under a minute


class NativeBuildError(SeqkitError):
    """A native library could not be built; the message is the reason, in one line."""


def _cpu_flags() -> str:
    """The CPU's instruction-set flags (Linux ``/proc/cpuinfo``), or the machine's name."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return " ".join(sorted(line.split(":", 1)[1].split()))
    import platform

    return platform.machine()


def _blas_flags() -> tuple[list[str], list[str], str]:
    """(compile flags, link flags, version) for OpenBLAS from ``scipy-openblas32``, or empty
    lists and "eigen" where that wheel is not installed or ``SEQKIT_NATIVE_GEMM=eigen`` asks for
    Eigen's GEMM (to compare them)."""
    if os.environ.get("SEQKIT_NATIVE_GEMM", "").strip().lower() == "eigen":
        return [], [], "eigen"
    try:
        import scipy_openblas32 as blas
    except ImportError:
        return [], [], "eigen"
    lib = blas.get_lib_dir()
    return (
        ["-DSEQKIT_OPENBLAS", f"-I{blas.get_include_dir()}"],
        [f"-L{lib}", f"-l{blas.get_library()}", f"-Wl,-rpath,{lib}"],
        f"scipy-openblas32 {blas.__version__}",
    )


def _target_flags(compiler: str) -> list[str]:
    """``-march`` for this CPU (``$SEQKIT_NATIVE_MARCH`` names another target), and
    ``-mno-avx512fp16`` for a target with AVX512-FP16 (Intel's Sapphire Rapids and later, the AMX
    CPUs) where the compiler knows the flag: the Eigen in TensorFlow 2.21's headers does not
    compile with AVX512-FP16 on (g++ 12, ``Eigen/src/Core/arch/AVX512/PacketMathFP16.h``: "expected
    initializer before '<' token"), and the kernels do no half-precision arithmetic. A compiler
    older than the flag (g++ 11) does not turn AVX512-FP16 on either."""
    march = os.environ.get("SEQKIT_NATIVE_MARCH", "native")
    has_fp16 = "avx512_fp16" in _cpu_flags().split() if march == "native" else "rapids" in march
    if has_fp16 and _accepts(compiler, "-mno-avx512fp16"):
        return [f"-march={march}", "-mno-avx512fp16"]
    return [f"-march={march}"]


def _accepts(compiler: str, flag: str) -> bool:
    """Whether ``compiler`` takes ``flag`` (it preprocesses nothing with it)."""
    command = [compiler, flag, "-x", "c++", "-E", "-o", os.devnull, os.devnull]
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def compile_command(sources: Sequence[Path], out: Path, blas: bool) -> list[str]:
    """The compiler's command line that builds ``sources`` into the library ``out``."""
    import tensorflow as tf

    compiler = os.environ.get("CXX", "g++")
    if shutil.which(compiler) is None:
        raise NativeBuildError(f"no C++ compiler ({compiler!r} is not on PATH)")
    blas_compile, blas_link, _ = _blas_flags() if blas else ([], [], "")
    return [
        compiler,
        *tf.sysconfig.get_compile_flags(),
        "-O3",
        # the cache key holds the CPU flags: AVX2 here, AVX-512 there; SEQKIT_NATIVE_MARCH
        # names another target (x86-64: no AVX2, the kernels' portable fallback)
        *_target_flags(compiler),
        "-fPIC",
        "-shared",
        # keep our -march=native copies of Eigen's templates to ourselves, and TensorFlow's
        # copies to itself: no symbol of one binds to the other's
        "-fvisibility=hidden",
        "-fvisibility-inlines-hidden",
        "-w",  # TensorFlow's headers warn about their own deprecations
        *blas_compile,
        *(str(s) for s in sources),
        "-o",
        str(out),
        *tf.sysconfig.get_link_flags(),
        *blas_link,
    ]


def _compiler_version(compiler: str) -> str:
    try:
        done = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise NativeBuildError(f"the C++ compiler {compiler!r} does not run ({exc})") from exc
    return done.stdout.splitlines()[0] if done.stdout else compiler


def cache_key(name: str, files: Sequence[Path], command: list[str]) -> str:
    """A hash of what makes the binary: TensorFlow, compiler, flags, sources, BLAS, CPU."""
    import tensorflow as tf

    digest = hashlib.sha256()
    for part in (name, tf.__version__, _compiler_version(command[0]), _cpu_flags()):
        digest.update(part.encode() + b"\0")
    digest.update(" ".join(command[1:]).encode() + b"\0")  # flags, BLAS and source paths
    for path in files:
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_library(
    name: str, sources: Sequence[Path], headers: Sequence[Path] = (), blas: bool = True
) -> Path:
    """The path of ``name``'s library built from ``sources``: from the cache, or compiled now
    (with one line on stderr saying so). Raises ``NativeBuildError``."""
    folder = cache_dir() / "native"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        placeholder = folder / f"{name}.so"
        key = cache_key(name, [*sources, *headers], compile_command(sources, placeholder, blas))
        target = folder / f"{name}-{key}.so"
        if target.exists():
            return target
        with _locked(folder / f"{name}-{key}.lock"):
            if not target.exists():  # another process may have built it while we waited
                _compile(name, sources, target, blas)
    except OSError as exc:
        reason = os_reason(exc)
        raise NativeBuildError(f"the cache {str(folder)!r} is not usable: {reason}") from exc
    return target


def _compile(name: str, sources: Sequence[Path], target: Path, blas: bool) -> None:
    """Compiles into a temporary file beside ``target``, then renames it into place."""
    handle, partial = tempfile.mkstemp(prefix=f".{name}-", suffix=".so", dir=target.parent)
    os.close(handle)
    try:
        command = compile_command(sources, Path(partial), blas)
        gemm = " ".join(_blas_flags()[2:]) if blas else "eigen"
        print(
            f"seqkit: compiling the native kernels for this TensorFlow and CPU ({gemm} GEMM; "
            f"once, about a minute) into {target.parent}",
            file=sys.stderr,
            flush=True,
        )
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as exc:
            raise NativeBuildError(f"the compiler did not run ({exc})") from exc
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if "error" in line]
            raise NativeBuildError(
                f"the compiler failed: {(errors or done.stderr.splitlines() or ['?'])[0]}"
            )
        os.replace(partial, target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(partial)
