"""Train an LSTM with TBPTT(32, 64) on a sequence and print the loss falling (README example)."""

import numpy as np

import seqkit

seqkit.set_seed(0)
text = "the quick brown fox jumps over the lazy dog. " * 200
vocab = sorted(set(text))
ids = np.array([vocab.index(c) for c in text], np.int32).reshape(8, -1)  # 8 parallel streams
model = seqkit.SequenceModel(
    "lstm", hidden_size=64, output_size=len(vocab), encoder="onehot", vocab_size=len(vocab)
)
trainer = seqkit.Trainer(
    model,
    loss="cross-entropy",
    lr=1e-2,
    clip_norm=5.0,
    truncation=seqkit.make_truncation("tbptt", k1=32, k2=64),
)
for logs in trainer.fit(seqkit.SequenceBatch(ids[:, :-1], ids[:, 1:]), steps=150)[::25]:
    print(f"step {logs['step']:4d}  loss {logs['loss']:.3f}")
