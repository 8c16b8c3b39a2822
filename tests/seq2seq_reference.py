"""An encoder-decoder written from the equations in NumPy, for the seq2seq tests: the cells
(PyTorch's LSTM, GRU and RNN cells, and the MGU of Zhou et al.), stacks with masks and reversed
directions, the bridge, Luong's dot attention, the head, greedy decoding and a beam search
that expands every hypothesis by every id. It reads a model's parameters from its
``state_dict()`` and shares no code with seqkit.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def lstm(p, x, state):
    h, c = state
    z = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, (h, c)


def gru(p, x, state):
    (h,) = state
    xr, xz, xn = np.split(x @ p["weight_ih"].T + p["bias_ih"], 3, axis=-1)
    hr, hz, hn = np.split(h @ p["weight_hh"].T + p["bias_hh"], 3, axis=-1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    h = (1 - z) * n + z * h
    return h, (h,)


def vanilla(p, x, state):
    (h,) = state
    h = np.tanh(x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"])
    return h, (h,)


def mgu(p, x, state):
    (h,) = state
    w_f, w_h = np.split(p["weight_ih"], 2)
    u_f, u_h = np.split(p["weight_hh"], 2)
    bi_f, bi_h = np.split(p["bias_ih"], 2)
    bh_f, bh_h = np.split(p["bias_hh"], 2)
    f = sigmoid(x @ w_f.T + bi_f + h @ u_f.T + bh_f)
    candidate = np.tanh(x @ w_h.T + bi_h + (f * h) @ u_h.T + bh_h)
    h = (1 - f) * h + f * candidate
    return h, (h,)


CELLS = {"lstm": (lstm, 2), "gru": (gru, 1), "vanilla": (vanilla, 1), "mgu": (mgu, 1)}


def run(cell, p, xs, mask, state):
    """One layer over ``xs`` [B, T, I]: outputs [B, T, H] (0 off the mask), final state."""
    step, _ = CELLS[cell]
    outputs = []
    for t in range(xs.shape[1]):
        out, new = step(p, xs[:, t], state)
        keep = mask[:, t, None]
        state = tuple(np.where(keep, n, o) for n, o in zip(new, state, strict=True))
        outputs.append(np.where(keep, out, 0.0))
    return np.stack(outputs, axis=1), state


def reverse(xs, mask):
    """Each row's first ``sum(mask)`` steps in reverse order, the rest in place."""
    out = xs.copy()
    for b, n in enumerate(mask.sum(axis=1)):
        out[b, :n] = xs[b, :n][::-1]
    return out


class Reference:
    """A ``Seq2SeqModel``'s computation from its state dict and settings."""

    def __init__(self, model):
        self.sd = model.state_dict()
        self.cell = model.cell_name
        self.encoder_cell = model.encoder_cell_name
        self.layers = model.decoder.num_layers
        self.bidirectional = model.bidirectional
        self.attention = model.attention is not None
        self.bridge = model.bridge.kind
        self.hidden = model.hidden_size

    def params(self, prefix, suffix):
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return {n: self.sd[f"{prefix}.{n}{suffix}"] for n in names}

    def zeros(self, cell, batch):
        return tuple(np.zeros([batch, self.hidden]) for _ in range(CELLS[cell][1]))

    def encode(self, source, mask):
        """(memory [B, S, H] or None, final states: one tuple per layer and direction)."""
        x = self.sd["encoder.embedding.weight"][source]
        finals = []
        for layer in range(self.layers):
            p = self.params("encoder", f"_l{layer}")
            forward, state = run(
                self.encoder_cell, p, x, mask, self.zeros(self.encoder_cell, len(x))
            )
            finals.append(state)
            if self.bidirectional:
                p = self.params("encoder", f"_l{layer}_reverse")
                zeros = self.zeros(self.encoder_cell, len(x))
                backward, state = run(self.encoder_cell, p, reverse(x, mask), mask, zeros)
                finals.append(state)
                forward = np.concatenate([forward, reverse(backward, mask)], axis=-1)
            x = forward
        memory = None
        if self.attention:
            memory = x
            if "attention.memory_weight" in self.sd:
                memory = x @ self.sd["attention.memory_weight"].T
        return memory, self.start_state(finals)

    def start_state(self, finals):
        d = 2 if self.bidirectional else 1
        start = []
        for layer in range(self.layers):
            parts = finals[layer * d : (layer + 1) * d]
            if self.bridge == "copy":
                start.append(tuple(sum(p[j] for p in parts) for j in range(len(parts[0]))))
                continue
            joined = np.concatenate([t for p in parts for t in p], axis=-1)
            count = CELLS[self.cell][1]
            start.append(
                tuple(
                    np.tanh(
                        joined @ self.sd[f"bridge.weight_l{layer}.{j}"].T
                        + self.sd[f"bridge.bias_l{layer}.{j}"]
                    )
                    for j in range(count)
                )
            )
        return start

    def output(self, h, memory, mask):
        """Logits from top-layer states ``h`` [B, T, H]."""
        if self.attention:
            scores = np.einsum("bth,bsh->bts", h, memory)
            scores = np.where(mask[:, None, :], scores, -np.inf)
            weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
            weights /= weights.sum(axis=-1, keepdims=True)
            context = np.einsum("bts,bsh->bth", weights, memory)
            h = np.tanh(np.concatenate([context, h], axis=-1) @ self.sd["attention.weight"].T)
        return h @ self.sd["head.weight"].T + self.sd["head.bias"]

    def teacher_forced(self, source, source_mask, inputs, mask):
        """Logits [B, T, O] of the decoder reading ``inputs`` from the encoder's state."""
        memory, states = self.encode(source, source_mask)
        x = self.sd["decoder.embedding.weight"][inputs]
        for layer in range(self.layers):
            x, _ = run(self.cell, self.params("decoder", f"_l{layer}"), x, mask, states[layer])
        return self.output(x, memory, source_mask)

    def step(self, token, states, memory, mask):
        """One decoder step for one row: (log-probabilities [O], new states)."""
        x = self.sd["decoder.embedding.weight"][[token]]
        new = []
        for layer in range(self.layers):
            step, _ = CELLS[self.cell]
            x, state = step(self.params("decoder", f"_l{layer}"), x, states[layer])
            new.append(state)
        memory = None if memory is None else memory[None]
        logits = self.output(x[:, None], memory, mask[None])[0, 0]
        return log_softmax(logits), new

    def row(self, source, mask, b):
        memory, states = self.encode(source[b : b + 1], mask[b : b + 1])
        states = [tuple(t[0:1] for t in s) for s in states]
        return (None if memory is None else memory[0]), states, mask[b]

    def greedy(self, source, mask, start, end, max_length):
        """Per row: (ids before the end symbol, summed log-probability)."""
        found = []
        for b in range(len(source)):
            memory, states, row_mask = self.row(source, mask, b)
            token, ids, score = start, [], 0.0
            for _ in range(max_length):
                logp, states = self.step(token, states, memory, row_mask)
                token = int(np.argmax(logp))
                score += logp[token]
                if token == end:
                    break
                ids.append(token)
            found.append((ids, score))
        return found

    def beam(self, source, mask, start, end, max_length, width, alpha):
        """Per row: (ids, normalised score) of the best hypothesis (fairseq's rules)."""
        found = []
        for b in range(len(source)):
            memory, states, row_mask = self.row(source, mask, b)
            live, finished = [(0.0, [], states)], []
            for t in range(max_length):
                candidates = []
                for score, ids, st in live:
                    logp, new = self.step(ids[-1] if ids else start, st, memory, row_mask)
                    candidates += [(score + logp[v], ids + [v], new) for v in range(len(logp))]
                candidates.sort(key=lambda c: -c[0])
                candidates = candidates[: 2 * width]
                new_finished = [
                    (s / (t + 1) ** alpha, ids[:-1])
                    for rank, (s, ids, _) in enumerate(candidates)
                    if ids[-1] == end and rank < width
                ]
                finished = sorted(finished + new_finished, key=lambda f: -f[0])[:width]
                live = [c for c in candidates if c[1][-1] != end][:width]
                if len(finished) >= width:
                    break
            else:
                unfinished = [(s / max_length**alpha, ids) for s, ids, _ in live]
                finished = sorted(finished + unfinished, key=lambda f: -f[0])[:width]
            best = finished[0]
            found.append((best[1], best[0]))
        return found
