"""SequenceModel's options for the task setups: bidirectional stacks, a learned initial state,
and masks for variable-length batches.

Bidirectional stacks are checked against ``torch.nn.LSTM/GRU/RNN(bidirectional=True)`` where
torch is installed, and against a hand-reversed run of the same cells everywhere.
"""

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.errors import OptionError, ShapeError
from seqkit.models.sequence import SequenceModel, reverse_steps

B, T, N_IN, H = 3, 6, 4, 5


def dense(seed=0, shape=(B, T, N_IN)):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize(
    "name, torch_class", [("lstm", "LSTM"), ("gru", "GRU"), ("vanilla", "RNN")]
)
def test_bidirectional_stack_matches_torch(name, torch_class):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    net = getattr(torch.nn, torch_class)(
        N_IN, H, num_layers=2, batch_first=True, bidirectional=True
    ).double()
    model = SequenceModel(
        name, input_size=N_IN, hidden_size=H, num_layers=2, bidirectional=True,
        dtype=tf.float64, runner="python",
    )  # fmt: skip
    model.load_state_dict(net.state_dict())  # strict: torch's names, _reverse included
    x = dense()
    with torch.no_grad():
        expected, h_n = net(torch.tensor(x))
        h_n = (h_n[0] if name == "lstm" else h_n).numpy()  # [layers * 2, B, H]
    got, final = model(tf.constant(x))
    assert got.shape == (B, T, 2 * H)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=0, atol=1e-6)
    for index, state in enumerate(final):  # l0, l0_reverse, l1, l1_reverse: torch's order
        np.testing.assert_allclose(state[0].numpy(), h_n[index], rtol=0, atol=1e-6)


def test_backward_direction_reads_each_sequence_from_its_own_end():
    """With padding, the backward cell starts at each sequence's last real step: the outputs
    on real steps equal those of the unpadded sequences run one at a time."""
    model = SequenceModel("gru", input_size=N_IN, hidden_size=H, bidirectional=True,
                          output_size=2, dtype=tf.float64, runner="graph")  # fmt: skip
    lengths = [6, 4, 2]
    x = dense(3)
    mask = np.arange(T)[None, :] < np.array(lengths)[:, None]
    padded = np.where(mask[..., None], x, 99.0)  # junk past the end must not matter
    got, _ = model(tf.constant(padded), mask=tf.constant(mask))
    for row, n in enumerate(lengths):
        alone, _ = model(tf.constant(x[row : row + 1, :n]))
        np.testing.assert_allclose(got.numpy()[row, :n], alone.numpy()[0], rtol=0, atol=1e-9)


def test_reverse_steps_keeps_padding_in_place():
    x = tf.constant([[1, 2, 3, 0], [4, 5, 0, 0]])
    mask = tf.constant([[True, True, True, False], [True, True, False, False]])
    assert reverse_steps(x, mask).numpy().tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    assert reverse_steps(x, None).numpy().tolist() == [[0, 3, 2, 1], [0, 0, 5, 4]]


def test_a_bidirectional_model_has_no_step():
    model = SequenceModel("lstm", input_size=N_IN, hidden_size=H, bidirectional=True)
    with pytest.raises(OptionError, match="a bidirectional model reads whole sequences"):
        model.step(tf.zeros([1, N_IN]), model.initial_state(1))


def test_initial_state_of_the_wrong_length_names_cells_and_directions():
    model = SequenceModel("lstm", input_size=N_IN, hidden_size=H, bidirectional=True)
    with pytest.raises(
        ShapeError, match=r"has 1 layers, the model has 2 \(one per layer and direction\)"
    ):
        model(tf.zeros([1, 2, N_IN]), initial_state=model.initial_state(1)[:1])


def test_learned_initial_state_is_a_named_parameter_repeated_for_every_row():
    model = SequenceModel("lstm", input_size=N_IN, hidden_size=H, num_layers=2,
                          initial_state="learned")  # fmt: skip
    params = model.state_dict()
    assert params["initial_state_l0.0"].shape == (H,) and "initial_state_l1.1" in params
    model.load_state_dict({**params, "initial_state_l0.0": np.arange(H, dtype=np.float32)})
    (h, c), _ = model.initial_state(3)
    np.testing.assert_array_equal(h.numpy(), np.tile(np.arange(H), (3, 1)))
    np.testing.assert_array_equal(c.numpy(), 0.0)


def test_learned_initial_state_gets_gradients_only_from_windows_at_the_start():
    """TBPTT(3, 3) over 9 steps: the first window's gradient reaches h_0, the later ones start
    from a carried (constant) state and do not."""
    seqkit.set_seed(0)
    model = SequenceModel("gru", input_size=N_IN, hidden_size=H, output_size=2,
                          initial_state="learned", dtype=tf.float64)  # fmt: skip
    loss = seqkit.make_loss("mse")
    x, y = dense(1, (B, 9, N_IN)), dense(2, (B, 9, 2))
    updates = seqkit.tbptt_gradients(model, loss, x, y, seqkit.make_truncation("tbptt", k1=3))
    index = [v.ref() for v in model.trainable_variables].index(model.learned_state[0][0].ref())
    norms = [float(tf.norm(grads[index])) if grads[index] is not None else 0.0
             for _, grads in updates]  # fmt: skip
    assert norms[0] > 1e-6 and norms[1:] == [0.0, 0.0]

    # and the first window's gradient is that of its loss by autodiff through h_0 directly
    with tf.GradientTape() as tape:
        outputs, _ = model(x[:, :3])
        value = loss(y[:, :3], outputs)
    want = tape.gradient(value, model.learned_state[0][0])
    np.testing.assert_allclose(updates[0][1][index].numpy(), want.numpy(), rtol=1e-10)


def test_a_trainer_learns_the_initial_state():
    seqkit.set_seed(0)
    model = SequenceModel("vanilla", input_size=1, hidden_size=4, output_size=1,
                          initial_state="learned")  # fmt: skip
    before = model.learned_state[0][0].numpy().copy()
    x = np.zeros((4, 5, 1), np.float32)
    y = np.ones((4, 5, 1), np.float32)  # only the start state can make the outputs differ
    trainer = seqkit.Trainer(model, loss="mse", lr=0.05, truncation="bptt")
    losses = [h["loss"] for h in trainer.fit(seqkit.SequenceBatch(x, y), steps=30)]
    assert not np.allclose(model.learned_state[0][0].numpy(), before)
    assert losses[-1] < losses[0]


def test_bad_initial_state_option():
    with pytest.raises(OptionError, match="initial_state must be one of 'zeros', 'learned'"):
        SequenceModel("lstm", input_size=2, hidden_size=3, initial_state="random")
