"""Sequences of another length from Python: an encoder-decoder on the embedded dates, and a CTC
model on the embedded noisy digit strings, each trained, evaluated and asked to decode.

    python examples/encoder_decoder.py                  # both, about a minute each on a CPU
    python examples/encoder_decoder.py dates --no-attention --steps 1000
    python examples/encoder_decoder.py transcribe

Dates: a GRU encoder reads "tuesday, march 5, 1991" one character at a time; its final state
starts a GRU decoder that writes "1991-03-05", with Luong attention over the encoder's outputs
unless ``--no-attention``. Transcribe: a bidirectional GRU reads noisy frames and is trained
with CTC to emit the digits they say, without being told which frames say which digit.
"""

from __future__ import annotations

import argparse
import time

import seqkit
from seqkit.training.evaluation import evaluate


def dates(steps: int, attention: bool) -> None:
    task = seqkit.make_task("seq2seq")  # the embedded 5,000 dates
    seqkit.set_seed(0)
    model = seqkit.Seq2SeqModel(
        "gru", **task.model_dims(), hidden_size=64, embedding_size=32, attention=attention
    )
    trainer = seqkit.Trainer(model, loss="cross-entropy", lr=3e-3, clip_norm=5.0)
    started = time.perf_counter()
    trainer.fit(task.train_batches(batch_size=64, seed=0), steps=steps)
    seconds = time.perf_counter() - started
    batches = task.eval_batches(batch_size=100)
    loss = evaluate(model, trainer.loss, batches)["loss"]
    greedy = seqkit.evaluate_decoded(model, task, batches)
    beam = seqkit.evaluate_decoded(model, task, batches, beam_width=4)
    print(f"dates, attention={attention}: {steps} updates in {seconds:.0f} s")
    print(f"  teacher-forced loss {loss:.4f}")
    for name, scores in (("greedy", greedy), ("beam 4", beam), ("baseline", task.baselines())):
        print(f"  {name:8s} exact match {scores['exact_match']:.3f}, "
              f"token accuracy {scores['token_accuracy']:.3f}")  # fmt: skip
    typed = ["5 march 1991", "the 1st of january, 2000", "07/04/1976", "Sat 30 Dec 2023"]
    predicted = task.decode(model, task.read_sources(typed), beam_width=4)
    for text, ids in zip(typed, predicted, strict=True):
        print(f"  {text!r} -> {task.target_text(ids)!r}")


def transcribe(steps: int) -> None:
    task = seqkit.make_task("transcribe")  # the embedded 1,200 utterances
    seqkit.set_seed(0)
    model = seqkit.SequenceModel("gru", **task.model_dims(), hidden_size=64, bidirectional=True)
    trainer = seqkit.Trainer(model, loss="ctc", lr=3e-3, clip_norm=5.0)
    started = time.perf_counter()
    trainer.fit(task.train_batches(batch_size=32, seed=0), steps=steps)
    seconds = time.perf_counter() - started
    batches = task.eval_batches(batch_size=60)
    greedy = evaluate(model, trainer.loss, batches, counts=task.counts)  # best path
    beam = seqkit.evaluate_decoded(model, task, batches, beam_width=8)
    print(f"transcribe: {steps} updates in {seconds:.0f} s")
    print(f"  CTC loss {greedy['loss']:.3f} nats per utterance")
    baseline = task.baselines()["label_error_rate"]
    print(f"  label error rate: greedy {greedy['label_error_rate']:.3f}, beam 8 "
          f"{beam['label_error_rate']:.3f}, baseline {baseline:.3f}")  # fmt: skip
    typed = ["31415", "2718", "1001"]
    predicted = task.decode(model, task.read_sources(typed), beam_width=8)
    for text, ids in zip(typed, predicted, strict=True):
        print(f"  frames saying {text!r} -> {task.target_text(ids)!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="?", choices=["dates", "transcribe", "both"], default="both")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--no-attention", action="store_true")
    args = parser.parse_args()
    if args.which in ("dates", "both"):
        dates(args.steps, attention=not args.no_attention)
    if args.which in ("transcribe", "both"):
        transcribe(args.steps)


if __name__ == "__main__":
    main()
