"""The steps ``benchmarks/compare.py``'s workers time, one function per framework and task:
a training step of seqkit (``seqkit.benchmarking``), Keras and PyTorch on the same character
model, sampling at batch 1, seqkit's TBPTT cost, and what a seqkit model is (``model_info``)."""

from __future__ import annotations

import statistics
import time


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


def seqkit_plain_step(cell, batch, seq, embed, hidden, vocab, layers):
    """seqkit's model as a toolkit that embeds it trains it: a ``SequenceModel`` (``runner
    "auto"``) in the toolkit's own ``tf.function`` step, with Keras' Adam and TensorFlow's
    cross-entropy (no ``Trainer``); compiled with XLA where the runner asks for it."""
    import keras
    import numpy as np
    import tensorflow as tf

    import seqkit

    seqkit.set_seed(0)
    model = seqkit.SequenceModel(
        cell, hidden_size=hidden, output_size=vocab, num_layers=layers, encoder="embedding",
        vocab_size=vocab, embedding_size=embed,
    )  # fmt: skip
    optimizer = keras.optimizers.Adam(1e-3)
    ids = np.random.default_rng(0).integers(0, vocab, size=(batch, seq + 1)).astype(np.int32)
    x, y = tf.constant(ids[:, :-1]), tf.constant(ids[:, 1:])
    variables = model.trainable_variables

    @tf.function(jit_compile=model.runner.jit_compile)
    def step():
        with tf.GradientTape() as tape:
            logits, _ = model(x, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    return lambda: step().numpy()


def torch_step(cell, batch, seq, embed, hidden, vocab, layers, autocast=False):
    """PyTorch's step; ``autocast``: under ``torch.autocast("cpu", dtype=torch.bfloat16)``, the
    model in bfloat16 and the loss on float32 logits, as PyTorch's mixed-precision recipe."""
    import torch

    torch.manual_seed(0)
    emb = torch.nn.Embedding(vocab, embed)
    if cell == "mingru" and layers == 1:  # no torch.nn module: the paper's own code
        net = torch_log_space_mingru(embed, hidden)
    else:
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "vanilla": torch.nn.RNN}[cell]
        net = rnn(embed, hidden, num_layers=layers, batch_first=True)
    head = torch.nn.Linear(hidden, vocab)
    opt = torch.optim.Adam([*emb.parameters(), *net.parameters(), *head.parameters()], lr=1e-3)
    x = torch.randint(0, vocab, (batch, seq))
    y = torch.randint(0, vocab, (batch, seq))

    def step():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out, _ = net(emb(x))
            logits = head(out)
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()

    return step


def torch_log_space_mingru(embed: int, hidden: int):
    """The paper's log-space minGRU (Feng et al. 2024, appendix) as a torch module: ``[B, T, E]``
    -> ``(h [B, T, H], None)`` like ``nn.GRU``, h_0 = g(0) = 0.5, the scan by
    ``torch.logcumsumexp``."""
    import math

    import torch
    import torch.nn.functional as F  # noqa: N812

    def log_g(x):
        return torch.where(x >= 0, (F.relu(x) + 0.5).log(), -F.softplus(-x))

    class LogSpaceMinGRU(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(embed, 2 * hidden)

        def forward(self, x):
            k, candidate = self.linear(x).chunk(2, dim=-1)
            log_z, log_coeffs = -F.softplus(-k), -F.softplus(k)
            log_h0 = torch.full((x.shape[0], 1, hidden), math.log(0.5))  # log g(0)
            log_values = torch.cat([log_h0, log_z + log_g(candidate)], dim=1)
            a_star = F.pad(torch.cumsum(log_coeffs, dim=1), (0, 0, 1, 0))
            log_h = a_star + torch.logcumsumexp(log_values - a_star, dim=1)
            return log_h.exp()[:, 1:], None

    return LogSpaceMinGRU()


def seqkit_sampling(length, repeats, jit):
    import seqkit
    from seqkit.decoding.sampling import Sampler

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


def model_info(c):
    """FLOPs a token, the runners that support the cell, and the one ``auto`` picks."""
    import seqkit
    from seqkit.benchmarking import flops_per_token, runner_name

    model = seqkit.SequenceModel(
        c["cell"], hidden_size=c["hidden"], output_size=c["vocab"], num_layers=c["layers"],
        encoder="embedding", vocab_size=c["vocab"], embedding_size=c["embed"],
        cell_options=c.get("cell_options"),
    )  # fmt: skip
    cell = model.cells[0]
    return {
        "flops_per_token": flops_per_token(model),
        "declares": cell.recurrence is not None,
        "auto_runner": runner_name(model.runner),
        "runners": [r for r in seqkit.available("runner") if seqkit.make_runner(r).supports(cell)],
    }
