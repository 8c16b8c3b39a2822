"""Training speed of one framework on one configuration, as a JSON line (tokens/s, medians).

    python benchmarks/train_speed.py --framework seqkit --runner xla --cell lstm
    python benchmarks/train_speed.py --framework keras --jit --cell gru
    python benchmarks/train_speed.py --framework torch --cell vanilla

One training step is forward, backward and an Adam update on a character model: embedding
(vocab -> embed), ``layers`` recurrent layers of ``hidden``, a dense head back to vocab, over
``batch`` x ``seq`` tokens. Warm-up steps are excluded; the figure is the median of ``repeats``
timed steps. ``benchmarks/compare.py`` runs each framework in its own process and tabulates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--framework", choices=["seqkit", "keras", "torch"], required=True)
    p.add_argument("--cell", choices=["lstm", "gru", "vanilla"], default="lstm")
    p.add_argument("--runner", default="auto", help="seqkit's runner")
    p.add_argument("--jit", action="store_true", help="keras: jit_compile=True")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=15)
    return p.parse_args(argv)


def seqkit_step(a):
    import numpy as np

    import seqkit

    seqkit.set_seed(0)
    model = seqkit.SequenceModel(
        a.cell,
        hidden_size=a.hidden,
        output_size=a.vocab,
        num_layers=a.layers,
        encoder="embedding",
        vocab_size=a.vocab,
        embedding_size=a.embed,
        runner=a.runner,
    )
    trainer = seqkit.Trainer(model, truncation="bptt", lr=1e-3)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, a.vocab, size=(a.batch, a.seq + 1)).astype(np.int32)
    data = seqkit.SequenceBatch(ids[:, :-1], ids[:, 1:])
    return lambda: trainer.fit(data, steps=1)


def keras_step(a):
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "vanilla": keras.layers.SimpleRNN}
    model = keras.Sequential(
        [keras.Input((a.seq,), dtype="int32"), keras.layers.Embedding(a.vocab, a.embed)]
        + [layer[a.cell](a.hidden, return_sequences=True) for _ in range(a.layers)]
        + [keras.layers.Dense(a.vocab)]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        jit_compile=a.jit,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    x = rng.integers(0, a.vocab, size=(a.batch, a.seq)).astype(np.int32)
    y = rng.integers(0, a.vocab, size=(a.batch, a.seq)).astype(np.int32)
    return lambda: model.train_on_batch(x, y)


def torch_step(a):
    import torch

    torch.manual_seed(0)
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "vanilla": torch.nn.RNN}[a.cell]
    emb = torch.nn.Embedding(a.vocab, a.embed)
    net = rnn(a.embed, a.hidden, num_layers=a.layers, batch_first=True)
    head = torch.nn.Linear(a.hidden, a.vocab)
    params = [*emb.parameters(), *net.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    x = torch.randint(0, a.vocab, (a.batch, a.seq))
    y = torch.randint(0, a.vocab, (a.batch, a.seq))

    def step():
        opt.zero_grad()
        out, _ = net(emb(x))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, a.vocab), y.reshape(-1))
        loss.backward()
        opt.step()

    return step


def main(argv=None):
    a = parse(argv)
    step = {"seqkit": seqkit_step, "keras": keras_step, "torch": torch_step}[a.framework](a)
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    result = {k: v for k, v in vars(a).items() if k not in ("warmup",)}
    result.update(ms_per_step=round(1000 * median, 2), tokens_per_s=round(a.batch * a.seq / median))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
