"""Building and loading the native kernels' library, and what happens where it cannot: one line on
stderr, once, and ``runner="auto"`` on the XLA kernels. A SavedModel export never holds the
custom op. Built for a CPU without AVX2 (``SEQKIT_NATIVE_MARCH=x86-64``), the kernels take their
portable product (``cc/packed_weight.h`` falls back to the GEMM), and built for AVX2 without
AVX-512 (``haswell``) its AVX2 kernel: both agree with the python runner, and both run float32
products where bfloat16 ones are asked for (they have no AVX512_BF16); built for an AMX CPU
(``sapphirerapids``) it compiles, with its bfloat16 products. The slow test builds the library
in two processes at once into an empty cache.

    .venv/bin/python -m pytest tests/test_native_build.py -q
"""

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.models.runner_choice import resolve_runner
from seqkit.models.sequence import SequenceModel
from seqkit.native.build import build_library, compile_command
from seqkit.plugins.registry import default_registry
from seqkit_plugins.fused import FusedRunner
from seqkit_plugins.native_kernels import LIBRARY, lstm_native
from seqkit_plugins.native_runner import NativeRunner

LSTMCell = type(seqkit.make_cell("lstm", 1, 1))


def fresh_library():
    """A library of the same sources that has not tried to load yet."""
    return seqkit.NativeLibrary(
        "seqkit_kernels", LIBRARY.sources, LIBRARY.headers, info_op=LIBRARY.info_op
    )


class OffLSTM(LSTMCell):
    """The LSTM, with its native kernel over a library that cannot load."""

    library = None

    @property
    def recurrence(self):
        native = seqkit.NativeKernel(self.library, lstm_native)
        return dataclasses.replace(super().recurrence, native_kernel=native)


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"SEQKIT_NATIVE": "0"}, "turned off by SEQKIT_NATIVE=0"),
        ({"CXX": "/nonexistent/g++"}, "no C++ compiler ('/nonexistent/g++' is not on PATH)"),
        ({"SEQKIT_CACHE_DIR": "FILE"}, "is not usable: "),
    ],
    ids=["turned-off", "no-compiler", "unusable-cache"],
)
def test_a_library_that_cannot_load_says_why_once_and_auto_runs_xla(
    env, reason, tmp_path, monkeypatch, capsys
):
    (tmp_path / "file").write_text("a file where the cache folder would be")
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "empty"))
    for key, value in env.items():
        monkeypatch.setenv(key, str(tmp_path / "file") if value == "FILE" else value)
    OffLSTM.library = fresh_library()
    cell = OffLSTM(2, 3)
    assert not NativeRunner().supports(cell)
    assert not NativeRunner().supports(cell)  # asked again: no second line
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], lines
    assert lines[0].startswith("seqkit: native kernels (seqkit_kernels) off: ")
    assert lines[0].endswith("; running the XLA kernels.")
    runner = resolve_runner("auto", [cell], default_registry())
    assert isinstance(runner, FusedRunner) and not runner.custom_ops
    with pytest.raises(seqkit.OptionError, match="declares no native kernel, or its library"):
        NativeRunner().run(cell, tf.zeros([1, 2, 2]), cell.initial_state(1))


def test_the_built_library_is_found_in_the_cache_without_compiling(capsys):
    assert LIBRARY.load() is not None, LIBRARY.status
    capsys.readouterr()
    again = fresh_library()
    assert again.load() is not None
    assert capsys.readouterr().err == ""  # no "compiling" line: the cached binary is loaded
    assert again.status == LIBRARY.status


def test_a_saved_model_never_holds_the_custom_op(tmp_path):
    from seqkit.decoding.sampling import Sampler
    from seqkit.export.saved_model import export_saved_model

    vocabulary = "abcdefg"
    model = SequenceModel(
        "lstm", hidden_size=4, output_size=7, encoder="embedding", vocab_size=7,
        embedding_size=3,
    )  # fmt: skip
    assert isinstance(model.runner, NativeRunner)
    export_saved_model(model, vocabulary, tmp_path / "out")
    assert isinstance(model.runner, NativeRunner)  # the model keeps its runner
    saved = b"".join(p.read_bytes() for p in (tmp_path / "out").rglob("*.pb"))
    assert b"Seqkit" not in saved and b"SeqkitLstm" not in saved
    loaded = tf.saved_model.load(str(tmp_path / "out"))
    out = loaded.signatures["generate"](
        prime=tf.constant("abc"), length=tf.constant(5), temperature=tf.constant(0.0),
        seed=tf.constant(0, tf.int64),
    )  # fmt: skip
    want = Sampler(model)([0, 1, 2], 5, temperature=0.0, seed=0)  # on the native runner
    np.testing.assert_array_equal(out["ids"].numpy(), want)


BUILD = """
from seqkit_plugins.native_kernels import LIBRARY
assert LIBRARY.load() is not None, LIBRARY.status
print(LIBRARY.status)
"""


@pytest.mark.slow
def test_two_processes_building_at_once_both_load(tmp_path):
    env = {**os.environ, "SEQKIT_CACHE_DIR": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", BUILD],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    results = [p.communicate(timeout=900) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    assert results[0][0] == results[1][0]  # the same library
    compiled = [err.count("seqkit: compiling the native kernels") for _, err in results]
    assert sorted(compiled) == [0, 1]  # one process built it, the other waited for it
    assert len(list((tmp_path / "cache" / "native").glob("*.so"))) == 1


PORTABLE = """
import numpy as np, tensorflow as tf, seqkit
from seqkit_plugins.native_kernels import LIBRARY
assert LIBRARY.load() is not None, LIBRARY.status
print(LIBRARY.status)
rng = np.random.default_rng(0)
for name in ("vanilla", "gru", "lstm"):
    cell = seqkit.make_cell(name, 3, 40)  # 40: two 16-column panels of AVX2 and a partial one
    x = tf.constant(rng.normal(size=(16, 5, 3)), tf.float32)  # 8 rows a shard: 6 and 2
    state = cell.initial_state(16)
    grads = []
    for runner in ("python", "native"):
        with tf.GradientTape() as tape:
            out, _ = seqkit.make_runner(runner).run(cell, x, state)
            loss = tf.reduce_sum(out * out)
        grads.append([out, *tape.gradient(loss, cell.trainable_variables)])
    for want, got in zip(*grads):
        # weight gradients of order 40 sum 80 products: 1e-5 of them is a few ulps
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)
if "bfloat16" not in LIBRARY.status:  # no AVX512_BF16 in this build: products stay float32
    ops, ids, keep = LIBRARY.load(), tf.zeros([0], tf.int32), tf.zeros([0])
    shapes = ((16, 5, 40), (16, 40), (40, 40))
    xp, h0, w = (rng.normal(size=shape).astype("float32") for shape in shapes)
    both = [ops.seqkit_vanilla_forward(xp, ids, h0, w, keep, activation="tanh", products=kind)
            for kind in ("float32", "bfloat16")]
    np.testing.assert_array_equal(*both)
print("agree")
"""


def test_shards_finish_whichever_thread_pool_is_free():
    """The shards of an op call go to whichever thread claims them first: with one inter-op
    thread (the op's own, so its helper there never starts during the call) and four shards over
    two intra-op threads, every cell still agrees, and nothing waits for a helper."""
    threads = (
        "import tensorflow as tf\n"
        "tf.config.threading.set_inter_op_parallelism_threads(1)\n"
        "tf.config.threading.set_intra_op_parallelism_threads(2)\n"
    )
    env = {**os.environ, "SEQKIT_NATIVE_SHARDS": "4"}  # 4 rows a shard of the 16
    done = subprocess.run(
        [sys.executable, "-c", threads + PORTABLE],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("agree")


def _cpu_has(flag: str) -> bool:
    try:
        with open("/proc/cpuinfo") as info:
            return any(flag in line.split() for line in info if line.startswith("flags"))
    except OSError:
        return False


@pytest.mark.parametrize(
    "march",
    [
        "x86-64",
        pytest.param(
            "haswell",
            marks=pytest.mark.skipif(not _cpu_has("avx2"), reason="this CPU has no AVX2"),
        ),
    ],
)
def test_a_build_for_another_cpu_agrees_with_the_python_runner(tmp_path, march):
    """Built for x86-64 (no AVX2, no FMA), as on an older CPU, the per-step product falls back to
    the GEMM; built for Haswell (AVX2 and FMA, no AVX-512), it runs the AVX2 kernel (6 x 16
    blocks) that an AVX-512 machine's own build never compiles. Either way every cell's outputs
    and weight gradients match."""
    env = {**os.environ, "SEQKIT_CACHE_DIR": str(tmp_path), "SEQKIT_NATIVE_MARCH": march}
    done = subprocess.run(
        [sys.executable, "-c", PORTABLE], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("agree")
    kind = "packed weight, AVX2" if march == "haswell" else "(no AVX2)"  # what the build runs
    assert kind in done.stdout.splitlines()[0]
    assert "seqkit: compiling the native kernels" in done.stderr  # its own build, not the cache's


def test_a_build_for_an_amx_cpu_compiles_with_its_bfloat16_products(tmp_path, monkeypatch):
    """Built for Sapphire Rapids (Intel's AMX CPUs, with AVX512-FP16 and AVX512_BF16), the library
    compiles: AVX512-FP16 is turned off, since the Eigen in TensorFlow's headers does not compile
    with it, and the bfloat16 products are in (their header's guard holds under the same flags).
    It is not loaded: this CPU may lack instructions that build uses."""
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SEQKIT_NATIVE_MARCH", "sapphirerapids")
    command = compile_command(LIBRARY.sources, tmp_path / "probe.so", blas=True)
    assert "-mno-avx512fp16" in command
    assert build_library("seqkit_kernels", LIBRARY.sources, LIBRARY.headers).stat().st_size > 0
    probe = tmp_path / "probe.cc"  # the header's guard, under the same target flags
    probe.write_text('#include "bf16_products.h"\n#ifndef SEQKIT_BF16_PRODUCTS\n#error\n#endif\n')
    targets = [flag for flag in command if flag.startswith("-m")]
    include = f"-I{LIBRARY.sources[0].parent}"
    done = subprocess.run([command[0], *targets, include, "-fsyntax-only", str(probe)], timeout=120)
    assert done.returncode == 0
