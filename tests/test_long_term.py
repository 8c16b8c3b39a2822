"""The long-term dependency claim, small: an LSTM beats the adding problem's baseline.

Slow-marked (about 15 s on two cores): ``python -m pytest -m slow tests/test_long_term.py``.
"""

import pytest

import seqkit
from seqkit.training.evaluation import evaluate


@pytest.mark.slow
def test_an_lstm_beats_the_adding_baseline():
    seqkit.set_seed(0)
    task = seqkit.make_task("adding", length=30, train_size=6400, val_size=500, seed=1)
    baseline = task.baselines()["mse"]
    model = seqkit.SequenceModel("lstm", input_size=2, hidden_size=32, output_size=1)
    loss = seqkit.make_loss(task.default_loss, **task.loss_options())
    trainer = seqkit.Trainer(model, loss=loss, truncation="bptt", lr=0.01, clip_norm=1.0)
    trainer.fit(task.train_batches(64, seed=0), steps=800)
    mse = evaluate(model, loss, task.eval_batches(100))["loss"]
    assert baseline == pytest.approx(1 / 6, abs=0.02)
    assert mse < baseline / 10, f"val MSE {mse:.4f} against the baseline {baseline:.4f}"
