"""SequenceModel beyond one stack: the one-hot and embedding encoders against a dense twin, the
state dict in torch.nn.LSTM's names, two-layer parity with torch.nn.LSTM/GRU/RNN, and the rule by
which runner "auto" picks (tests/test_runners.py has the unroll and the stacked layers).

    .venv/bin/python -m pytest tests/test_sequence_model.py -q
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.models.runner_choice import AUTO_RUNNERS, auto_runners, resolve_runner
from seqkit.models.sequence import SequenceModel
from seqkit.plugins.registry import default_registry

sys.path.insert(0, str(Path(__file__).parent))
from test_runners import SumCell  # noqa: E402 (a cell that declares no recurrence)

RUNNERS = ["python", "graph", "xla"]
B, T, N_IN, H = 3, 5, 4, 5  # batch, time, input and hidden sizes

V, E = 6, 3  # vocabulary, embedding size


def ids():
    return tf.constant(np.random.default_rng(6).integers(0, V, size=(B, T)), tf.int32)


def dense_twin(model, input_size):
    """A dense-input model with ``model``'s cell and head weights."""
    twin = SequenceModel(
        "gru", input_size=input_size, hidden_size=H, output_size=2, dtype=tf.float64,
        runner="python",
    )  # fmt: skip
    weights = {k: v for k, v in model.state_dict().items() if k != "embedding.weight"}
    twin.load_state_dict(weights)
    return twin


def test_onehot_encoder_is_a_dense_model_fed_one_hot_vectors():
    model = SequenceModel(
        "gru", hidden_size=H, output_size=2, encoder="onehot", vocab_size=V,
        dtype=tf.float64, runner="python",
    )  # fmt: skip
    tokens = ids()
    one_hot = np.eye(V)[tokens.numpy()]
    expected, _ = dense_twin(model, V)(tf.constant(one_hot))
    got, _ = model(tokens)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-12)
    assert "embedding.weight" not in model.state_dict()


def test_embedding_encoder_is_a_dense_model_fed_the_gathered_rows():
    model = SequenceModel(
        "gru", hidden_size=H, output_size=2, encoder="embedding", vocab_size=V,
        embedding_size=E, dtype=tf.float64, runner="python",
    )  # fmt: skip
    tokens = ids()
    table = model.state_dict()["embedding.weight"]
    assert table.shape == (V, E)
    expected, _ = dense_twin(model, E)(tf.constant(table[tokens.numpy()]))
    got, _ = model(tokens)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-12)


def test_state_dict_uses_torch_lstm_names_and_round_trips():
    def make(seed):
        tf.random.set_seed(seed)
        return SequenceModel(
            "lstm", hidden_size=H, output_size=2, num_layers=2, encoder="embedding",
            vocab_size=V, embedding_size=E, dtype=tf.float64, runner="python",
        )  # fmt: skip

    model = make(7)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert shapes == {
        "embedding.weight": (V, E),
        "weight_ih_l0": (4 * H, E),
        "weight_hh_l0": (4 * H, H),
        "bias_ih_l0": (4 * H,),
        "bias_hh_l0": (4 * H,),
        "weight_ih_l1": (4 * H, H),
        "weight_hh_l1": (4 * H, H),
        "bias_ih_l1": (4 * H,),
        "bias_hh_l1": (4 * H,),
        "head.weight": (2, H),
        "head.bias": (2,),
    }
    assert list(shapes)[1:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert len(model.trainable_variables) == len(shapes)  # nothing trainable left unnamed

    other = make(8)
    tokens = ids()
    assert not np.allclose(other(tokens)[0].numpy(), model(tokens)[0].numpy())
    other.load_state_dict(model.state_dict())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k], v)
    np.testing.assert_array_equal(other(tokens)[0].numpy(), model(tokens)[0].numpy())


TORCH_CASES = [("lstm", "LSTM"), ("gru", "GRU"), ("vanilla", "RNN")]


@pytest.mark.parametrize("runner", ["python", "graph"])
@pytest.mark.parametrize("name, torch_class", TORCH_CASES)
def test_matches_torch_two_layer_rnn(name, torch_class, runner):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = getattr(torch.nn, torch_class)(N_IN, H, num_layers=2, batch_first=True).double()
    model = SequenceModel(
        name, input_size=N_IN, hidden_size=H, num_layers=2, dtype=tf.float64, runner=runner
    )
    model.load_state_dict(net.state_dict())  # strict: the names are torch's

    rng = np.random.default_rng(9)
    x = rng.normal(size=(B, T, N_IN))
    h0 = rng.normal(size=(2, B, H))
    c0 = rng.normal(size=(2, B, H))
    with torch.no_grad():
        if name == "lstm":
            expected, (h_n, c_n) = net(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
            want_final = [(h_n[i].numpy(), c_n[i].numpy()) for i in range(2)]
            state = tuple((tf.constant(h0[i]), tf.constant(c0[i])) for i in range(2))
        else:
            expected, h_n = net(torch.tensor(x), torch.tensor(h0))
            want_final = [(h_n[i].numpy(),) for i in range(2)]
            state = tuple((tf.constant(h0[i]),) for i in range(2))
    got, final = model(tf.constant(x), state)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=0, atol=1e-5)
    for layer, want in zip(final, want_final, strict=True):
        for s, w in zip(layer, want, strict=True):
            np.testing.assert_allclose(s.numpy(), w, rtol=0, atol=1e-5)


def test_auto_runner_follows_the_rule_about_the_cell():
    """A cell that declares a linear recurrence gets the first of scan, fused, graph, xla,
    python that is installed; a cell that declares its recurrence the first of native, fused,
    graph, xla, python that supports it; any other cell the first of graph, xla, python."""
    declaring, other = seqkit.make_cell("vanilla", 2, 3), SumCell(3)
    linear = seqkit.make_cell("mingru", 2, 3)
    assert declaring.recurrence is not None and other.recurrence is None
    assert AUTO_RUNNERS == {
        "declares a linear recurrence": ("scan", "fused", "graph", "xla", "python"),
        "declares its recurrence": ("native", "fused", "graph", "xla", "python"),
        "other": ("graph", "xla", "python"),
    }
    assert auto_runners([declaring, declaring]) == AUTO_RUNNERS["declares its recurrence"]
    assert auto_runners([declaring, other]) == AUTO_RUNNERS["other"]
    assert auto_runners([linear, linear]) == AUTO_RUNNERS["declares a linear recurrence"]
    assert auto_runners([linear, declaring]) == AUTO_RUNNERS["declares its recurrence"]
    assert type(SequenceModel("mingru", input_size=2, runner="auto").runner) is type(
        seqkit.make_runner("scan")
    )
    model = SequenceModel("vanilla", input_size=2, hidden_size=3, runner="auto")
    assert type(model.runner) is type(seqkit.make_runner("native"))  # its native kernel loads
    mixed = SequenceModel("vanilla", input_size=2, hidden_size=3, precision="mixed_bfloat16")
    assert type(mixed.runner) is type(seqkit.make_runner("native"))  # float32 inside
    assert type(resolve_runner("auto", [other], default_registry())) is type(
        seqkit.make_runner("graph")
    )


class FakeRunner(seqkit.Runner):
    def __init__(self, supported):
        self.supported = supported

    def supports(self, cell):
        return type(cell).__name__ in self.supported

    def run(self, cell, inputs, initial_state, mask=None):
        raise NotImplementedError


class FakeRegistry:
    """Just what resolve_runner asks of a registry."""

    def __init__(self, runners):
        self.runners = runners

    def names(self, kind):
        assert kind == "runner"
        return sorted(self.runners)

    def make(self, kind, name):
        assert kind == "runner"
        return self.runners[name]


def test_auto_takes_the_first_installed_runner_that_supports_every_cell():
    registry = FakeRegistry(
        {
            "fused": FakeRunner({"LSTMCell"}),
            "xla": FakeRunner({"LSTMCell", "GRUCell"}),
            "fast": FakeRunner({"LSTMCell", "GRUCell", "VanillaCell"}),  # not in the rule
        }
    )
    lstm, gru = seqkit.make_cell("lstm", 2, 2), seqkit.make_cell("gru", 2, 2)
    assert resolve_runner("auto", [lstm, lstm], registry) is registry.runners["fused"]
    assert resolve_runner("auto", [lstm, gru], registry) is registry.runners["xla"]  # no graph
    with pytest.raises(seqkit.OptionError) as info:
        resolve_runner("auto", [seqkit.make_cell("vanilla", 2, 2)], registry)
    assert str(info.value) == (
        "runner 'auto': none of the runners it picks from (native, fused, graph, xla, python) "
        "is installed and supports VanillaCell; name a runner that does."
    )
