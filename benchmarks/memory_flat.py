"""Peak memory of TBPTT training does not grow with the length of the stream.

    python benchmarks/memory_flat.py [--k1 16] [--k2 32] [--factor 100] [--cell lstm] [--runner X]

Trains the same model with the same (k1, k2) over a stream of N steps and then over one of
factor x N steps, in one process, and prints the peak resident memory (ru_maxrss) after each,
as JSON. Windows are sliced out of the stream, so activations are held for one window only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k1", type=int, default=16)
    parser.add_argument("--k2", type=int, default=32)
    parser.add_argument("--steps", type=int, default=64, help="stream length N = steps x k1")
    parser.add_argument("--factor", type=int, default=100)
    parser.add_argument("--runner", default="graph")
    parser.add_argument("--cell", default="lstm", help="any registered cell")
    args = parser.parse_args(argv)

    import numpy as np

    import seqkit

    seqkit.set_seed(0)
    vocab, batch = 32, 8
    model = seqkit.SequenceModel(
        args.cell,
        hidden_size=64,
        output_size=vocab,
        encoder="onehot",
        vocab_size=vocab,
        runner=args.runner,
    )
    truncation = seqkit.make_truncation("tbptt", k1=args.k1, k2=args.k2)
    trainer = seqkit.Trainer(model, truncation=truncation, lr=1e-3)
    rng = np.random.default_rng(0)
    result = {"k1": args.k1, "k2": args.k2}
    for name, length in [
        ("short", args.steps * args.k1),
        ("long", args.factor * args.steps * args.k1),
    ]:
        ids = rng.integers(0, vocab, size=(batch, length + 1)).astype(np.int32)
        data = seqkit.SequenceBatch(ids[:, :-1], ids[:, 1:])
        updates = len(trainer.fit(data, epochs=1))
        result[name] = {
            "stream_length": length,
            "updates": updates,
            "peak_mib": round(peak_mib(), 1),
        }
    result["growth_mib"] = round(result["long"]["peak_mib"] - result["short"]["peak_mib"], 1)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
