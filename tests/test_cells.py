"""The built-in cells (vanilla, GRU, LSTM): maths, layouts, state dicts, gradients, errors.

Each cell is checked against a NumPy reference written from the equations in its module
docstring, against Keras 3's cells and against PyTorch's (weights mapped across layouts).

    .venv/bin/python -m pytest tests/test_cells.py -q
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import seqkit

B, N_IN, H = 3, 5, 7  # batch, input size (I), hidden size: small and all different
KEYS = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]

# (cell name, options, gates G): every built-in cell, vanilla with each activation
CASES = [
    pytest.param("vanilla", {"activation": "tanh"}, 1, id="vanilla-tanh"),
    pytest.param("vanilla", {"activation": "sigmoid"}, 1, id="vanilla-sigmoid"),
    pytest.param("vanilla", {"activation": "relu"}, 1, id="vanilla-relu"),
    pytest.param("gru", {}, 3, id="gru"),
    pytest.param("lstm", {}, 4, id="lstm"),
]


# NumPy float64 references, from the equations in the plugins' docstrings.


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


NUMPY_ACTIVATIONS = {"tanh": np.tanh, "sigmoid": sigmoid, "relu": lambda x: np.maximum(x, 0.0)}


def vanilla_reference(p, x, state, activation):
    """h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""
    (h,) = state
    act = NUMPY_ACTIVATIONS[activation]
    h = act(x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"])
    return h, (h,)


def gru_reference(p, x, state):
    """Gates r, z, n, the reset applied to W_hn h_{t-1} + b_hn."""
    (h,) = state
    w_ir, w_iz, w_in = np.split(p["weight_ih"], 3)
    w_hr, w_hz, w_hn = np.split(p["weight_hh"], 3)
    b_ir, b_iz, b_in = np.split(p["bias_ih"], 3)
    b_hr, b_hz, b_hn = np.split(p["bias_hh"], 3)
    r = sigmoid(x @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
    z = sigmoid(x @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
    n = np.tanh(x @ w_in.T + b_in + r * (h @ w_hn.T + b_hn))
    h = (1 - z) * n + z * h
    return h, (h,)


def lstm_reference(p, x, state):
    """Gates i, f, g, o; c_t = f c_{t-1} + i g; h_t = o tanh(c_t)."""
    h, c = state
    w_i, w_h = np.split(p["weight_ih"], 4), np.split(p["weight_hh"], 4)  # [i, f, g, o] blocks
    b_i, b_h = np.split(p["bias_ih"], 4), np.split(p["bias_hh"], 4)
    i, f, g, o = (x @ w_i[k].T + b_i[k] + h @ w_h[k].T + b_h[k] for k in range(4))
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, (h, c)


def reference_step(name, options):
    if name == "vanilla":
        return lambda p, x, s: vanilla_reference(p, x, s, options["activation"])
    return {"gru": gru_reference, "lstm": lstm_reference}[name]


# Helpers.


def random_weights(cell, rng, scale=0.5):
    """A random state dict for ``cell``, biases included, in float64."""
    return {k: rng.uniform(-scale, scale, v.shape) for k, v in cell.state_dict().items()}


def random_state(cell, rng, dtype=np.float64):
    return tuple((0.5 * rng.standard_normal((B, n))).astype(dtype) for n in cell.state_size)


def unroll(step, xs, state):
    """Outputs ``[T, B, O]`` and the final state of ``step`` over ``xs`` ``[T, B, I]``."""
    outputs = []
    for t in range(xs.shape[0]):  # a Python loop, unrolled under tf.function
        out, state = step(xs[t], state)
        outputs.append(out)
    return outputs, state


def assert_unrolls_match(ours, theirs, tol):
    (out_a, state_a), (out_b, state_b) = ours, theirs
    np.testing.assert_allclose(np.stack(out_a), np.stack(out_b), rtol=tol, atol=tol)
    assert len(state_a) == len(state_b)
    for a, b in zip(state_a, state_b, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def make_loaded(name, options, seed, dtype=tf.float64):
    """A cell with random weights. Tests pass it NumPy inputs and states, as TF ops take."""
    rng = np.random.default_rng(seed)
    cell = seqkit.make_cell(name, N_IN, H, dtype=dtype, **options)
    weights = random_weights(cell, rng)
    cell.load_state_dict(weights)
    return cell, weights, rng


# 1. The NumPy reference.


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
@pytest.mark.parametrize("name, options, gates", CASES)
def test_matches_numpy_reference(name, options, gates, graph):
    cell, weights, rng = make_loaded(name, options, seed=1)
    xs = rng.standard_normal((5, B, N_IN))
    state = random_state(cell, rng)
    run = tf.function(unroll) if graph else unroll  # the whole unroll traced into one graph
    ref = reference_step(name, options)
    expected = unroll(lambda x, s: ref(weights, x, s), xs, state)
    ours = run(cell, tf.constant(xs), state)
    assert all(out.dtype == tf.float64 for out in ours[0])
    assert_unrolls_match(ours, expected, tol=1e-10)


# 2. Keras 3's cells, weights mapped from PyTorch's layout.


def to_keras(name, options, w):
    """Keras cell and its [kernel (I, G*H), recurrent_kernel (H, G*H), bias] from a state dict."""
    if name == "vanilla":
        cell = keras.layers.SimpleRNNCell(H, activation=options["activation"])
        return cell, [w["weight_ih"].T, w["weight_hh"].T, w["bias_ih"] + w["bias_hh"]]
    if name == "lstm":  # Keras' gates are i, f, c, o: PyTorch's order; one bias
        cell = keras.layers.LSTMCell(H)
        return cell, [w["weight_ih"].T, w["weight_hh"].T, w["bias_ih"] + w["bias_hh"]]

    def zrn(a):  # PyTorch's r, z, n -> Keras' z, r, h
        r, z, n = np.split(a, 3)
        return np.concatenate([z, r, n])

    cell = keras.layers.GRUCell(H, reset_after=True)
    bias = np.stack([zrn(w["bias_ih"]), zrn(w["bias_hh"])])  # (2, 3H): input; recurrent
    return cell, [zrn(w["weight_ih"]).T, zrn(w["weight_hh"]).T, bias]


@pytest.mark.parametrize("name, options, gates", CASES)
def test_matches_keras(name, options, gates):
    cell, weights, rng = make_loaded(name, options, seed=2, dtype=tf.float32)
    keras_cell, keras_weights = to_keras(name, options, weights)
    keras_cell.build((None, N_IN))
    keras_cell.set_weights([a.astype(np.float32) for a in keras_weights])
    xs = rng.standard_normal((20, B, N_IN)).astype(np.float32)
    state = random_state(cell, rng, np.float32)

    def keras_step(x, s):
        out, new = keras_cell(x, list(s), training=False)
        return out, tuple(new)

    assert_unrolls_match(unroll(cell, xs, state), unroll(keras_step, xs, state), tol=1e-5)


# 3. PyTorch's cells, state dicts passed both ways.

TORCH_CASES = [c for c in CASES if c.id != "vanilla-sigmoid"]  # torch has tanh and relu only


def torch_cell_and_step(torch, name, options):
    """A torch cell and its step in seqkit's form: ``(x, state) -> (output, new_state)``."""
    if name == "vanilla":
        cell = torch.nn.RNNCell(N_IN, H, nonlinearity=options["activation"])
    else:
        cell = {"gru": torch.nn.GRUCell, "lstm": torch.nn.LSTMCell}[name](N_IN, H)

    def step(x, s):  # torch's cells take and give h alone, or (h, c) for the LSTM
        new = tuple(cell(x, s)) if name == "lstm" else (cell(x, s[0]),)
        return new[0], new

    return cell, step


def torch_unroll(torch, step, xs, state):
    with torch.no_grad():
        outputs, final = unroll(step, torch.from_numpy(xs), tuple(map(torch.from_numpy, state)))
    return [o.numpy() for o in outputs], tuple(s.numpy() for s in final)


@pytest.mark.parametrize("direction", ["torch-to-seqkit", "seqkit-to-torch"])
@pytest.mark.parametrize("name, options, gates", TORCH_CASES)
def test_matches_torch(name, options, gates, direction):
    torch = pytest.importorskip("torch", reason="PyTorch is needed to compare with its cells")
    torch.manual_seed(3)
    torch_cell, torch_step = torch_cell_and_step(torch, name, options)
    cell = seqkit.make_cell(name, N_IN, H, **options)
    if direction == "torch-to-seqkit":  # torch's own initialisation, non-zero biases included
        cell.load_state_dict({k: v for k, v in torch_cell.state_dict().items()})
    else:
        cell.load_state_dict(random_weights(cell, np.random.default_rng(3)))
        torch_cell.load_state_dict({k: torch.from_numpy(v) for k, v in cell.state_dict().items()})
    rng = np.random.default_rng(4)
    xs = rng.standard_normal((20, B, N_IN)).astype(np.float32)
    state = random_state(cell, rng, np.float32)
    expected = torch_unroll(torch, torch_step, xs, state)
    assert_unrolls_match(unroll(cell, xs, state), expected, tol=1e-5)


# 4. The time-parallel split.


@pytest.mark.parametrize("name, options, gates", CASES)
def test_project_inputs_then_step_equals_call(name, options, gates):
    cell, _, rng = make_loaded(name, options, seed=5)
    xs = rng.standard_normal((B, 6, N_IN))
    state = random_state(cell, rng)
    projected = cell.project_inputs(tf.constant(xs))
    assert projected.shape[:2] == (B, 6)
    split = unroll(cell.step, tf.transpose(projected, [1, 0, 2]), state)
    whole = unroll(cell, xs.transpose(1, 0, 2), state)
    assert_unrolls_match(split, whole, tol=1e-12)


# 5. State dicts.


@pytest.mark.parametrize("name, options, gates", CASES)
def test_state_dict_names_shapes_and_round_trip(name, options, gates):
    a, weights, rng = make_loaded(name, options, seed=6)
    sd = a.state_dict()
    assert list(sd) == KEYS
    gh = gates * H  # G*H rows: one block of H per gate
    assert [v.shape for v in sd.values()] == [(gh, N_IN), (gh, H), (gh,), (gh,)]
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in sd.values())
    b = seqkit.make_cell(name, N_IN, H, dtype=tf.float64, **options)
    b.load_state_dict(sd)
    for k in KEYS:
        np.testing.assert_array_equal(b.state_dict()[k], weights[k])
    sd["bias_ih"][:] = 123.0  # a copy: changing it changes neither cell
    assert not np.any(a.state_dict()["bias_ih"] == 123.0)
    x, state = rng.standard_normal((B, N_IN)), random_state(a, rng)
    (out_a, state_a), (out_b, state_b) = a(x, state), b(x, state)
    np.testing.assert_array_equal(out_a.numpy(), out_b.numpy())
    for sa, sb in zip(state_a, state_b, strict=True):
        np.testing.assert_array_equal(sa.numpy(), sb.numpy())


def test_load_state_dict_errors_name_the_key_and_change_nothing():
    cell, _, rng = make_loaded("lstm", {}, seed=7)
    before = cell.state_dict()
    new = random_weights(cell, rng)
    missing = {k: v for k, v in new.items() if k != "bias_hh"}
    error = seqkit.StateDictError
    with pytest.raises(error, match=r"LSTMCell\.load_state_dict: missing keys \['bias_hh'\]"):
        cell.load_state_dict(missing)
    with pytest.raises(error, match=r"unexpected keys \['extra'\]; expected exactly \['weight_ih'"):
        cell.load_state_dict({**new, "extra": np.zeros(3)})
    wrong = {**new, "bias_hh": np.zeros(H)}  # the last key: the others would load first
    with pytest.raises(error, match=rf"'bias_hh' has shape \({H},\), expected \({4 * H},\)\."):
        cell.load_state_dict(wrong)
    for k in KEYS:
        np.testing.assert_array_equal(cell.state_dict()[k], before[k])


def test_load_state_dict_non_strict_loads_a_subset():
    cell, _, rng = make_loaded("gru", {}, seed=8)
    before = cell.state_dict()
    new_bias = rng.uniform(size=3 * H)
    cell.load_state_dict({"bias_ih": new_bias, "extra": np.zeros(2)}, strict=False)
    after = cell.state_dict()
    np.testing.assert_array_equal(after["bias_ih"], new_bias)
    for k in ["weight_ih", "weight_hh", "bias_hh"]:
        np.testing.assert_array_equal(after[k], before[k])


# 7. Gradients.


@pytest.mark.parametrize("name, options, gates", CASES)
def test_gradient_reaches_every_variable(name, options, gates):
    cell, _, rng = make_loaded(name, options, seed=9)
    xs = tf.constant(rng.standard_normal((4, B, N_IN)))
    state = random_state(cell, rng)
    with tf.GradientTape() as tape:
        outputs, _ = unroll(cell, xs, state)
        loss = tf.add_n([tf.reduce_sum(o**2) for o in outputs])
    variables = cell.trainable_variables
    assert sorted(v.name.split(":")[0] for v in variables) == sorted(KEYS)
    for v, g in zip(variables, tape.gradient(loss, variables), strict=True):
        assert g is not None, v.name
        assert np.any(np.asarray(tf.convert_to_tensor(g)) != 0), v.name


# 8. Bad construction.


POSITIVE = "must be a positive integer, got"


@pytest.mark.parametrize(
    "args, options, message",
    [
        (("lstm", 3, 0), {}, rf"LSTMCell: hidden_size {POSITIVE} 0\."),
        (("gru", -1, 4), {}, rf"GRUCell: input_size {POSITIVE} -1\."),
        (("vanilla", 2.5, 4), {}, rf"VanillaCell: input_size {POSITIVE} 2\.5\."),
        (("vanilla", 3, "4"), {}, rf"VanillaCell: hidden_size {POSITIVE} '4'\."),
        (("vanilla", True, 4), {}, rf"VanillaCell: input_size {POSITIVE} True\."),
        (
            ("vanilla", 3, 4),
            {"activation": "gelu"},
            r"VanillaCell: activation .*'relu', 'sigmoid', 'tanh'.*got 'gelu'",
        ),
        (
            ("lstm", 3, 4),
            {"activaton": "tanh"},
            r"cell 'lstm': got an unexpected keyword argument 'activaton'; its options are: dtype",
        ),
        (("gru", 3, 4), {"dtype": tf.int32}, r"GRUCell: dtype must be a floating type, got int32"),
    ],
    ids=["hidden-0", "input-negative", "float", "str", "bool", "activation", "option", "dtype"],
)
def test_bad_construction_raises_option_error(args, options, message):
    with pytest.raises(seqkit.OptionError, match=message) as info:
        seqkit.make_cell(*args, **options)
    assert isinstance(info.value, seqkit.SeqkitError)


def test_unknown_cell_name_lists_known_names_and_closest_match():
    with pytest.raises(
        seqkit.UnknownNameError, match=r"Unknown cell 'lstn'\. Did you mean 'lstm'\?"
    ) as info:
        seqkit.make_cell("lstn", 3, 4)
    assert isinstance(info.value, seqkit.SeqkitError)
    known = str(info.value).split("Known cells: ", 1)[1]
    assert {"gru", "lstm", "vanilla"} <= set(known.rstrip(".").split(", "))
    with pytest.raises(seqkit.UnknownNameError) as info:
        seqkit.make_cell("transformer", 3, 4)
    assert "Did you mean" not in str(info.value)


# 9. State and output sizes.


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name, options, gates", CASES)
def test_initial_state_and_sizes(name, options, gates, dtype):
    cell = seqkit.make_cell(name, N_IN, H, dtype=dtype, **options)
    assert cell.state_size == ((H, H) if name == "lstm" else (H,))
    assert cell.output_size == H
    state = cell.initial_state(B)
    assert isinstance(state, tuple) and len(state) == len(cell.state_size)
    for s in state:
        assert s.shape == (B, H) and s.dtype == dtype
        assert not np.any(s.numpy())
    other = tf.float64 if dtype == tf.float32 else tf.float32
    assert all(s.dtype == other for s in cell.initial_state(2, dtype=other))
    out, new_state = cell(tf.ones([B, N_IN], dtype), state)
    assert out.shape == (B, cell.output_size) and out.dtype == dtype
    assert [tuple(s.shape) for s in new_state] == [(B, n) for n in cell.state_size]
