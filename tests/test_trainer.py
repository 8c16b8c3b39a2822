"""The trainer: it learns, its update is the documented TBPTT gradient step, runs repeat."""

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.training.window_walk import tbptt_gradients


def periodic_streams(batch=4, length=200, period="abcdefgh"):
    """B streams of a periodic text: ids, and the same shifted by one."""
    ids = np.array([period.index(c) for c in period * (length // len(period) + 2)], np.int32)
    starts = np.arange(batch) * 3
    x = np.stack([ids[s : s + length] for s in starts])
    y = np.stack([ids[s + 1 : s + length + 1] for s in starts])
    return seqkit.SequenceBatch(x, y)


def small_model(cell="lstm", runner="graph", **kw):
    return seqkit.SequenceModel(
        cell, hidden_size=16, output_size=8, encoder="onehot", vocab_size=8, runner=runner, **kw
    )


def test_trainer_learns_a_periodic_sequence():
    seqkit.set_seed(0)
    trainer = seqkit.Trainer(
        small_model(), truncation=seqkit.make_truncation("tbptt", k1=10, k2=20), lr=2e-2
    )
    history = trainer.fit(periodic_streams(), steps=60)
    assert len(history) == 60 and trainer.step == 60
    assert history[0]["loss"] > 1.8  # ln 8 = 2.08 at the start
    assert np.mean([h["loss"] for h in history[-5:]]) < 0.3
    assert trainer.evaluate(periodic_streams()) < 0.3


@pytest.mark.parametrize("k1,k2", [(5, 5), (4, 7)])
def test_first_update_is_sgd_on_the_tbptt_gradient(k1, k2):
    """One trainer update with SGD moves each variable by -lr times tbptt_gradients' gradient."""
    seqkit.set_seed(1)
    model = small_model(cell="vanilla")
    data = periodic_streams(batch=2, length=12)
    truncation = seqkit.make_truncation("tbptt", k1=k1, k2=k2)
    loss = seqkit.make_loss("cross-entropy")
    (window, grads), *_ = tbptt_gradients(model, loss, data.inputs, data.targets, truncation)
    before = [v.numpy() for v in model.trainable_variables]
    trainer = seqkit.Trainer(model, loss, truncation, optimizer="sgd", lr=0.5)
    logs = trainer.fit(data, steps=1)
    assert logs[0]["window"] == window
    for v, b, g in zip(model.trainable_variables, before, grads, strict=True):
        np.testing.assert_allclose(v.numpy(), b - 0.5 * tf.convert_to_tensor(g).numpy(), atol=1e-6)


def test_one_epoch_is_one_update_per_window():
    data = periodic_streams(batch=2, length=23)
    trainer = seqkit.Trainer(small_model(), truncation=seqkit.make_truncation("tbptt", k1=5))
    history = trainer.fit(data, epochs=2)
    assert [h["window"].end for h in history] == [5, 10, 15, 20, 23] * 2
    assert [h["tokens"] for h in history[:5]] == [10, 10, 10, 10, 6]


def test_same_seed_same_weights():
    def run():
        seqkit.set_seed(7)
        model = small_model(dropout=0.3, num_layers=2)
        seqkit.Trainer(model, truncation="bptt", seed=7).fit(periodic_streams(length=20), steps=3)
        return model.state_dict()

    a, b = run(), run()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_clip_norm_bounds_the_update():
    seqkit.set_seed(2)
    model = small_model()
    before = [v.numpy() for v in model.trainable_variables]
    trainer = seqkit.Trainer(model, truncation="bptt", optimizer="sgd", lr=1.0, clip_norm=1e-3)
    logs = trainer.fit(periodic_streams(length=20), steps=1)
    assert logs[0]["grad_norm"] > 1e-3  # the raw norm is logged, before clipping
    moved = np.sqrt(
        sum(
            np.sum((v.numpy() - b) ** 2)
            for v, b in zip(model.trainable_variables, before, strict=True)
        )
    )
    assert moved == pytest.approx(1e-3, rel=1e-3)


def test_callback_sees_every_update_and_can_stop():
    class StopAfterThree(seqkit.Callback):
        def __init__(self):
            self.steps = []

        def on_update_end(self, trainer, logs):
            self.steps.append(logs["step"])
            if len(self.steps) == 3:
                trainer.stop_training = True

    callback = StopAfterThree()
    trainer = seqkit.Trainer(
        small_model(), truncation=seqkit.make_truncation("tbptt", k1=4), callbacks=[callback]
    )
    history = trainer.fit(periodic_streams(length=40), steps=10)
    assert callback.steps == [1, 2, 3] and len(history) == 3


def test_batches_of_sequences_with_a_mask_and_a_last_step_loss():
    """One label per sequence: each batch is one BPTT update; padded steps do not count."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 8, size=(6, 9)).astype(np.int32)
    lengths = np.array([9, 5, 3, 9, 2, 7])
    mask = np.arange(9)[None] < lengths[:, None]
    labels = x[:, 0] % 2
    batches = [
        seqkit.SequenceBatch(x[:3], labels[:3], mask[:3]),
        seqkit.SequenceBatch(x[3:], labels[3:], mask[3:]),
    ]
    model = seqkit.SequenceModel(
        "gru",
        hidden_size=8,
        output_size=2,
        encoder="embedding",
        vocab_size=8,
        embedding_size=4,
        runner="graph",
    )
    loss = seqkit.make_loss("cross-entropy", last_step=True)
    trainer = seqkit.Trainer(model, loss, truncation=seqkit.make_truncation("tbptt", k1=4))
    history = trainer.fit(batches, epochs=2)
    assert len(history) == 4  # only the window that ends each sequence carries the label
    assert all(h["window"].end == 9 for h in history)
    assert np.isfinite(trainer.evaluate(batches))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"lr": 0}, "the learning rate must be a positive number, got 0"),
        ({"lr": "fast"}, "the learning rate must be a positive number, got 'fast'"),
        ({"clip_norm": -1}, "clip_norm must be a positive number, got -1"),
        (
            {"optimizer": "adamw2"},
            "Unknown optimizer 'adamw2'. Did you mean 'adam'\\? Known optimizers: "
            "adagrad, adam, rmsprop, sgd",
        ),
        ({"loss": "cross-entropi"}, "Did you mean 'cross-entropy'"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(seqkit.SeqkitError, match=message):
        seqkit.Trainer(small_model(), **kwargs)


def test_fit_rejects_bad_data_and_steps():
    trainer = seqkit.Trainer(small_model())
    with pytest.raises(seqkit.SeqkitError, match="steps must be a positive integer, got 0"):
        trainer.fit(periodic_streams(), steps=0)
    with pytest.raises(seqkit.SeqkitError, match="data must be a SequenceBatch"):
        trainer.fit([np.zeros((2, 3))], steps=1)
    with pytest.raises(seqkit.SeqkitError, match="the data holds no batches"):
        trainer.fit([], steps=1)


def test_fit_in_parts_equals_fit_at_once():
    """fit(steps=3) then fit(steps=4) goes on in the stream: the same as fit(steps=7)."""

    def train(parts):
        seqkit.set_seed(3)
        model = small_model(num_layers=2, dropout=0.2)
        trainer = seqkit.Trainer(model, truncation=seqkit.make_truncation("tbptt", k1=4, k2=6))
        ends = [
            h["window"].end
            for n in parts
            for h in trainer.fit(periodic_streams(length=21), steps=n)
        ]
        return ends, model.state_dict()

    ends_a, a = train([7])
    ends_b, b = train([3, 4])
    assert ends_a == ends_b == [4, 8, 12, 16, 20, 21, 4]
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_each_fit_call_reuses_the_traced_update():
    """fit(steps=1) again and again (how a toolkit drives it, and compare.py times it) traces
    the update once a window shape: it is called straight into that graph (CompiledCall), and
    the zero start state it is given is the same tensor each time."""
    seqkit.set_seed(0)
    trainer = seqkit.Trainer(small_model(), lr=1e-2)
    data = periodic_streams(length=12)
    losses = [trainer.fit(data, steps=1)[0]["loss"] for _ in range(5)]
    assert trainer.step == 5 and trainer.epoch == 5  # one window a pass: each update a pass
    assert losses[-1] < losses[0]  # the updates were applied
    assert trainer._update.function.experimental_get_tracing_count() == 1


def progress_of(trainer):
    p = trainer.progress
    return tuple(int(v.numpy()) for v in (p.step, p.epoch, p.batch, p.window, p.carried_at))


def test_each_update_records_where_training_stands_and_a_nonfinite_one_nothing():
    """The compiled update records itself in the progress (step, epoch, batch, next window,
    the step whose state is carried); the last window of a batch goes on to the next batch, and
    of the only batch (one SequenceBatch) to the next pass; the logs say each update's step and
    pass. An update whose loss is not finite (nonfinite="stop") raises and records nothing."""
    trainer = seqkit.Trainer(small_model(), truncation=seqkit.make_truncation("tbptt", k1=4))
    data = periodic_streams(batch=2, length=10)  # windows [0, 4), [4, 8), [8, 10) from 6
    seen, logs = [progress_of(trainer)], []
    for _ in range(4):
        logs += trainer.fit(data, steps=1)
        seen.append(progress_of(trainer))
    assert seen == [(0, 0, 0, 0, -1), (1, 0, 0, 1, 4), (2, 0, 0, 2, 6), (3, 1, 0, 0, -1),
                    (4, 1, 0, 1, 4)]  # fmt: skip
    assert [(h["step"], h["epoch"]) for h in logs] == [(1, 0), (2, 0), (3, 0), (4, 1)]
    other = seqkit.Trainer(small_model(), truncation=seqkit.make_truncation("tbptt", k1=4))
    batches = [periodic_streams(batch=2, length=4), periodic_streams(batch=2, length=4)]
    passes = []
    for _ in range(3):  # a collection of batches: the next call finds the pass at its end
        other.fit(batches, steps=1)
        passes.append(progress_of(other))
    assert passes == [(1, 0, 1, 0, -1), (2, 0, 2, 0, -1), (3, 1, 1, 0, -1)]
    carried = [v.numpy() for v in trainer.progress.carried]
    weights = trainer.model.state_dict()
    variable = trainer.model.trainable_variables[0]
    variable.assign(tf.fill(variable.shape, np.nan))
    with pytest.raises(seqkit.NonFiniteError, match="step 5"):
        trainer.fit(data, steps=1)
    assert progress_of(trainer) == seen[-1]
    for before, after in zip(carried, trainer.progress.carried, strict=True):
        np.testing.assert_array_equal(before, after.numpy())
    nan_name = next(k for k, v in trainer.model.state_dict().items() if np.isnan(v).all())
    assert all(np.array_equal(v, weights[k]) for k, v in trainer.model.state_dict().items()
               if k != nan_name)  # fmt: skip


@pytest.mark.slow  # seqkit run's resume test (tests/test_cli_run.py) covers it end to end
def test_a_restored_checkpoint_continues_exactly(tmp_path):
    """Save after 5 updates, restore into new objects, train 4 more: the same as 9 at once."""
    data = periodic_streams(length=30)
    truncation = seqkit.make_truncation("tbptt", k1=4, k2=7)

    def fresh():
        seqkit.set_seed(4)
        model = small_model(num_layers=2, dropout=0.3)
        return model, seqkit.Trainer(model, truncation=truncation)

    model, trainer = fresh()
    trainer.fit(data, steps=9)
    expected = model.state_dict()

    model, trainer = fresh()
    trainer.fit(data, steps=5)
    path = trainer.checkpoint().save(str(tmp_path / "ckpt"))
    seqkit.set_seed(99)  # a different process would not share the random state
    model2 = small_model(num_layers=2, dropout=0.3)
    trainer2 = seqkit.Trainer(model2, truncation=truncation)
    trainer2.checkpoint().restore(path).assert_consumed()
    assert trainer2.step == 5
    history = trainer2.fit(data, steps=4)
    assert [h["step"] for h in history] == [6, 7, 8, 9]
    for key, value in model2.state_dict().items():
        np.testing.assert_allclose(value, expected[key], rtol=0, atol=1e-6)
