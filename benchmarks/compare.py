"""seqkit against Keras and PyTorch, side by side in one run: training tokens/s, sampling
characters/s, TBPTT cost, and the FLOP ceiling from the measured sgemm rate.

    .venv/bin/python benchmarks/compare.py            # table, and benchmarks/results.json
    .venv/bin/python benchmarks/compare.py --quick    # config A, one layer only

Each framework runs in its own process (a worker: this file with ``--worker NAME``), and the
driver interleaves them: for every configuration, ``--rounds`` rounds in which each variant runs
``--steps`` timed training steps, so that load from others on a shared machine falls on all
alike. Warm-up steps (and compiles) are excluded; figures are medians of all timed steps.
A training step is forward, backward and Adam on a character model: embedding, recurrent
layers, dense head. Ratios are to PyTorch's nn.LSTM/nn.GRU/nn.RNN and to the ceiling: sgemm
FLOP/s over the step's matmul FLOPs a token (``seqkit bench`` gives the seqkit side alone).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIGS = {  # name: batch, seq, embed, hidden, vocab
    "A": dict(batch=32, seq=64, embed=64, hidden=256, vocab=65),
    "B": dict(batch=64, seq=100, embed=64, hidden=512, vocab=65),
}
VARIANTS = [  # (worker, variant): the seqkit runners, Keras without and with XLA, PyTorch
    ("seqkit", "auto"),
    ("seqkit", "xla"),
    ("keras", "plain"),
    ("keras", "jit"),
    ("torch", "native"),
]


# -- workers: one process per framework, JSON lines in and out ---------------------------------


def keras_step(cell, batch, seq, embed, hidden, vocab, layers, jit):
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "vanilla": keras.layers.SimpleRNN}
    model = keras.Sequential(
        [keras.Input((seq,), dtype="int32"), keras.layers.Embedding(vocab, embed)]
        + [layer[cell](hidden, return_sequences=True) for _ in range(layers)]
        + [keras.layers.Dense(vocab)]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        jit_compile=jit,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    x = rng.integers(0, vocab, size=(batch, seq)).astype(np.int32)
    y = rng.integers(0, vocab, size=(batch, seq)).astype(np.int32)
    return lambda: model.train_on_batch(x, y)


def torch_step(cell, batch, seq, embed, hidden, vocab, layers):
    import torch

    torch.manual_seed(0)
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "vanilla": torch.nn.RNN}[cell]
    emb = torch.nn.Embedding(vocab, embed)
    net = rnn(embed, hidden, num_layers=layers, batch_first=True)
    head = torch.nn.Linear(hidden, vocab)
    opt = torch.optim.Adam([*emb.parameters(), *net.parameters(), *head.parameters()], lr=1e-3)
    x = torch.randint(0, vocab, (batch, seq))
    y = torch.randint(0, vocab, (batch, seq))

    def step():
        opt.zero_grad()
        out, _ = net(emb(x))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()

    return step


def seqkit_sampling(length, repeats, jit):
    import seqkit
    from seqkit.sampling import Sampler

    seqkit.set_seed(0)
    model = seqkit.SequenceModel(
        "lstm", hidden_size=256, output_size=65, encoder="embedding", vocab_size=65,
        embedding_size=64,
    )  # fmt: skip
    sampler = Sampler(model, jit_compile=jit)
    sampler([1, 2, 3], length, 0.8, 0)  # compile
    return _rate(lambda: sampler([1, 2, 3], length, 0.8, 0), length, repeats)


def keras_sampling(length, repeats):
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    emb, cell = keras.layers.Embedding(65, 64), keras.layers.LSTMCell(256)
    head = keras.layers.Dense(65)
    state = [np.zeros((1, 256), np.float32)] * 2

    def run():
        nonlocal state
        ids = np.array([1])
        for _ in range(length):
            out, state = cell(emb(ids), state)
            probs = keras.ops.softmax(head(out) / 0.8)
            ids = keras.random.categorical(keras.ops.log(probs), 1)[:, 0]

    run()
    return _rate(run, length, repeats)


def torch_sampling(length, repeats):
    import torch

    torch.manual_seed(0)
    emb, net, head = torch.nn.Embedding(65, 64), torch.nn.LSTM(64, 256), torch.nn.Linear(256, 65)

    @torch.no_grad()
    def run():
        ids, state = torch.tensor([[1]]), None
        for _ in range(length):
            out, state = net(emb(ids), state)
            probs = torch.softmax(head(out[0]) / 0.8, -1)
            ids = torch.multinomial(probs, 1)

    run()
    return _rate(run, length, repeats)


def _rate(run, length, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return length / statistics.median(times)


def seqkit_tbptt(k1, k2, windows, rounds):
    """Seconds per token of TBPTT(k1, k2) against TBPTT(k1, k1), interleaved."""
    import numpy as np

    import seqkit

    rng = np.random.default_rng(0)
    length = k1 * windows
    ids = rng.integers(0, 65, size=(32, length + 1)).astype(np.int32)
    data = seqkit.SequenceBatch(ids[:, :-1], ids[:, 1:])
    trainers = {}
    for kk in (k1, k2):
        seqkit.set_seed(0)
        model = seqkit.SequenceModel(
            "lstm", hidden_size=256, output_size=65, encoder="embedding", vocab_size=65,
            embedding_size=64,
        )  # fmt: skip
        trainer = seqkit.Trainer(model, truncation=seqkit.make_truncation("tbptt", k1=k1, k2=kk))
        trainer.fit(data, epochs=1)  # compiles every window shape
        trainers[kk] = trainer
    times = {kk: [] for kk in trainers}
    for _ in range(rounds):
        for kk, trainer in trainers.items():
            start = time.perf_counter()
            trainer.fit(data, epochs=1)
            times[kk].append((time.perf_counter() - start) / (32 * length))
    return {kk: statistics.median(t) for kk, t in times.items()}


def worker(framework: str) -> None:
    """Serve the driver's requests on stdin/stdout, one JSON object a line."""
    steps = {}
    out = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not reach the driver
    for line in sys.stdin:
        req = json.loads(line)
        cmd, reply = req["cmd"], {}
        if cmd == "build":
            c = req["config"]
            args = (c["cell"], c["batch"], c["seq"], c["embed"], c["hidden"], c["vocab"])
            layers, variant = c["layers"], req["variant"]
            if framework == "seqkit":
                from seqkit.cli.bench_command import training_step

                sizes = {k: c[k] for k in ("cell", "batch", "seq", "embed", "hidden", "vocab")}
                step = training_step(**sizes, layers=layers, runner=variant)
            elif framework == "keras":
                step = keras_step(*args, layers, variant == "jit")
            else:
                step = torch_step(*args, layers)
            start = time.perf_counter()
            for _ in range(req["warmup"]):
                step()
            steps[req["key"]] = step
            reply = {"warmup_s": time.perf_counter() - start}
        elif cmd == "time":
            step, times = steps[req["key"]], []
            for _ in range(req["steps"]):
                start = time.perf_counter()
                step()
                times.append(time.perf_counter() - start)
            reply = {"times": times}
        elif cmd == "drop":
            steps.clear()
        elif cmd == "sgemm":
            from seqkit.cli.bench_command import sgemm_rate

            reply = {"flops": sgemm_rate()}
        elif cmd == "sample":
            length, repeats = req["length"], req["repeats"]
            if framework == "seqkit":
                reply = {"xla": seqkit_sampling(length, repeats, True)}
                reply["graph"] = seqkit_sampling(length, repeats, False)
            elif framework == "keras":
                reply = {"eager": keras_sampling(length, repeats)}
            else:
                reply = {"eager": torch_sampling(length, repeats)}
        elif cmd == "tbptt":
            reply = seqkit_tbptt(req["k1"], req["k2"], req["windows"], req["rounds"])
        elif cmd == "info":
            import importlib

            module = importlib.import_module({"seqkit": "tensorflow"}.get(framework, framework))
            reply = {"version": module.__version__}
        out.write(json.dumps(reply) + "\n")
        out.flush()


# -- the driver --------------------------------------------------------------------------------


class Worker:
    def __init__(self, framework):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", framework],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def ask(self, **req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker died on {req}")
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def flops_per_token(cell, hidden, embed, vocab, layers):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from seqkit.cli.bench_command import flops_per_token as count

    return count(cell, hidden, embed, vocab, layers)


def plan(quick: bool):
    runs = []
    for cell in ("lstm", "gru", "vanilla"):
        runs.append(dict(name="A", cell=cell, layers=1, **CONFIGS["A"]))
    if not quick:
        for cell in ("lstm", "gru", "vanilla"):
            runs.append(dict(name="A", cell=cell, layers=2, **CONFIGS["A"]))
        for cell in ("lstm", "gru", "vanilla"):
            runs.append(dict(name="B", cell=cell, layers=1, **CONFIGS["B"]))
    return runs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true", help="config A, one layer, no sampling")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--steps", type=int, default=3, help="timed steps a variant a round")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument(
        "--skip", default="", help="comma-separated variants to leave out, e.g. keras:plain"
    )
    p.add_argument("--json", default=os.path.join(os.path.dirname(__file__), "results.json"))
    a = p.parse_args(argv)
    if a.worker:
        return worker(a.worker)

    import torch  # noqa: F401  (fails early where PyTorch is missing)

    skip = set(filter(None, a.skip.split(",")))
    variants = [v for v in VARIANTS if f"{v[0]}:{v[1]}" not in skip]
    workers = {name: Worker(name) for name in {w for w, _ in variants}}
    result = {
        "date": datetime.datetime.now().isoformat(timespec="minutes"),
        "command": "python benchmarks/compare.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or ''}",
        "versions": {name: w.ask(cmd="info")["version"] for name, w in workers.items()},
        "training": [],
    }
    rate = workers["seqkit"].ask(cmd="sgemm")["flops"]
    result["sgemm_gflops"] = round(rate / 1e9, 1)
    for run in plan(a.quick):
        config = {k: run[k] for k in ("cell", "batch", "seq", "embed", "hidden", "vocab", "layers")}
        keys = {}
        for framework, variant in variants:
            key = f"{framework}:{variant}"
            workers[framework].ask(
                cmd="build", key=key, variant=variant, config=config, warmup=a.warmup
            )
            keys[key] = framework
        times = {key: [] for key in keys}
        for _ in range(a.rounds):
            for key, framework in keys.items():
                times[key] += workers[framework].ask(cmd="time", key=key, steps=a.steps)["times"]
        for w in workers.values():
            w.ask(cmd="drop")
        fpt = flops_per_token(run["cell"], run["hidden"], run["embed"], run["vocab"], run["layers"])
        row = dict(run, ceiling=round(rate / fpt), tokens_per_s={})
        for key, t in times.items():
            row["tokens_per_s"][key] = round(run["batch"] * run["seq"] / statistics.median(t))
        result["training"].append(row)
        print_row(row, first=len(result["training"]) == 1)
    if not a.quick:
        result["sampling_chars_per_s"] = {
            "seqkit:xla": None, "seqkit:graph": None, "keras:eager": None, "torch:eager": None,
        }  # fmt: skip
        got = workers["seqkit"].ask(cmd="sample", length=2000, repeats=5)
        result["sampling_chars_per_s"].update({f"seqkit:{k}": round(v) for k, v in got.items()})
        if "keras" in workers:
            got = workers["keras"].ask(cmd="sample", length=200, repeats=1)
            result["sampling_chars_per_s"]["keras:eager"] = round(got["eager"])
        got = workers["torch"].ask(cmd="sample", length=2000, repeats=3)
        result["sampling_chars_per_s"]["torch:eager"] = round(got["eager"])
        print("\nsampling, batch 1, LSTM 1x256, chars/s:", result["sampling_chars_per_s"])
        tb = workers["seqkit"].ask(cmd="tbptt", k1=16, k2=64, windows=8, rounds=3)
        ratio = tb["64"] / tb["16"]
        result["tbptt"] = {
            "k1": 16, "k2": 64, "us_per_token_k2_eq_k1": round(tb["16"] * 1e6, 2),
            "us_per_token": round(tb["64"] * 1e6, 2), "ratio": round(ratio, 2),
            "bound": 1.1 * 64 / 16,
        }  # fmt: skip
        print(f"TBPTT(16, 64) / TBPTT(16, 16) per token: {ratio:.2f} (bound 1.1 x 4 = 4.4)")
    for w in workers.values():
        w.close()
    with open(a.json, "w") as f:
        json.dump(result, f, indent=1)
    print(f"\n{result['date']}, sgemm {result['sgemm_gflops']} GFLOP/s, wrote {a.json}")


def print_row(row, first):
    keys = list(row["tokens_per_s"])
    if first:
        head = f"{'config':<22}" + "".join(f"{k:>16}" for k in keys) + f"{'ceiling':>10}"
        print(head + "   seqkit:auto/torch  /ceiling")
    torch_rate = row["tokens_per_s"].get("torch:native")
    name = f"{row['name']} {row['cell']} x{row['layers']}"
    cells = ""
    for k in keys:
        v = row["tokens_per_s"][k]
        ratio = f"({v / torch_rate:.2f})" if torch_rate else ""
        cells += f"{v:>9,}{ratio:>7}"
    auto = row["tokens_per_s"].get("seqkit:auto")
    tail = f"{row['ceiling']:>10,}"
    if auto and torch_rate:
        tail += f"   {auto / torch_rate:>16.2f}  {auto / row['ceiling']:>7.0%}"
    print(f"{name:<22}{cells}{tail}", flush=True)


if __name__ == "__main__":
    main()
