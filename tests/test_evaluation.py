"""``seqkit.training.evaluation.evaluate``: chunked streams give the whole-stream mean, masks weigh
by
counted steps, last-step losses weigh by sequence, and a task's counts are summed over batches."""

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.models.sequence import SequenceModel
from seqkit.training.evaluation import evaluate


def model(**kw):
    seqkit.set_seed(0)
    return SequenceModel("gru", hidden_size=6, output_size=5, encoder="onehot", vocab_size=5,
                         dtype=tf.float64, **kw)  # fmt: skip


def ids(seed, shape):
    return np.random.default_rng(seed).integers(0, 5, size=shape).astype(np.int32)


def test_chunks_carry_the_state_and_give_the_whole_stream_mean():
    net, loss = model(), seqkit.make_loss("cross-entropy")
    x, y = ids(0, (3, 50)), ids(1, (3, 50))
    outputs, _ = net(x)
    want = float(loss(y, outputs))
    for chunk in (7, 50, 256):
        got = evaluate(net, loss, seqkit.SequenceBatch(x, y), chunk=chunk)["loss"]
        assert got == pytest.approx(want, rel=1e-12)


def test_batches_are_weighed_by_their_counted_steps():
    net, loss = model(), seqkit.make_loss("cross-entropy")
    a = seqkit.SequenceBatch(ids(0, (2, 8)), ids(1, (2, 8)))
    mask = np.arange(8)[None, :] < np.array([[3], [5]])
    b = seqkit.SequenceBatch(ids(2, (2, 8)), ids(3, (2, 8)), mask)
    per_step = []
    for batch in (a, b):
        out, _ = net(batch.inputs, mask=batch.mask)
        logp = tf.nn.log_softmax(out).numpy()
        nll = -np.take_along_axis(logp, batch.targets[..., None], -1)[..., 0]
        per_step += list(nll[batch.mask] if batch.mask is not None else nll.ravel())
    assert evaluate(net, loss, [a, b], chunk=3)["loss"] == pytest.approx(np.mean(per_step))


def test_last_step_loss_and_counts_summed_over_batches():
    net = model()
    loss = seqkit.make_loss("cross-entropy", last_step=True)

    def counts(targets, outputs, mask):
        predicted = outputs[:, -1].argmax(-1)
        return {"accuracy": (float((predicted == targets).sum()), float(len(targets)))}

    batches = [seqkit.SequenceBatch(ids(s, (n, 4)), ids(s + 9, (n,))) for s, n in ((0, 3), (1, 5))]
    got = evaluate(net, loss, batches, counts=counts)
    correct = sum(counts(b.targets, net(b.inputs)[0].numpy(), None)["accuracy"][0] for b in batches)
    assert got["accuracy"] == pytest.approx(correct / 8)
    means = [float(loss(b.targets, net(b.inputs)[0])) for b in batches]
    assert got["loss"] == pytest.approx((3 * means[0] + 5 * means[1]) / 8)


def test_no_data_has_no_mean_loss_in_the_trainer_as_in_a_runs_scores():
    trainer = seqkit.Trainer(model(), loss="cross-entropy", truncation="bptt")
    assert np.isnan(trainer.evaluate([]))  # not 0.0, a perfect loss that nothing earned


def test_a_batch_that_is_no_sequence_batch_or_tuple_is_a_clear_error():
    """An array in place of a batch is refused in one line, not read as a tuple of its rows."""
    net, loss = model(), seqkit.make_loss("cross-entropy")
    with pytest.raises(seqkit.SeqkitError, match="evaluate: data must be a SequenceBatch"):
        evaluate(net, loss, [ids(0, (2, 8))])


def test_a_tuple_is_read_as_inputs_targets_and_mask():
    net, loss = model(), seqkit.make_loss("cross-entropy")
    x, y = ids(0, (2, 8)), ids(1, (2, 8))
    mask = np.arange(8)[None, :] < np.array([[3], [5]])
    want = evaluate(net, loss, seqkit.SequenceBatch(x, y, mask))["loss"]
    assert evaluate(net, loss, (x, y, mask))["loss"] == want
