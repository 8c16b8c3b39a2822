"""The ``transcribe`` task: frames in, labels out, not aligned with them (speech to text), for a
``SequenceModel`` trained with the ``ctc`` loss.

    task = seqkit.make_task("transcribe")             # the embedded noisy digit strings
    batch = task.train_batches(batch_size=32, seed=0)[0]
    batch.inputs, batch.mask       # [32, T, 8] frames, [32, T] bools
    batch.targets                  # [32, L] label ids 1..10, padded with 0 (the blank)
    model = seqkit.SequenceModel("gru", **task.model_dims(), hidden_size=64, bidirectional=True)
    task.target_text(task.decode(model, task.read_sources(["31415"]))[0])

The data (``path``, a ``.npz`` file) holds ``frames`` [total frames, F] (each utterance's frames,
one utterance after the other), ``frame_lengths`` [N] and ``transcripts`` [N] (strings, one
label a character); optionally ``alphabet`` (the labels in id order; else the transcripts'
characters, sorted) and ``prototypes`` [labels, F] (the synthetic data's label vectors, with
which ``read_sources`` renders a transcript as frames). Without a path the task reads its
embedded default, ``seqkit_plugins/default_data/transcribe.npz``, made by ``make_transcribe.py``
beside it: 1,200 utterances of 3 to 7 digits, each digit said over 1 to 4 noisy frames with
silences between, so that the model must learn where each digit is.

Label k of the alphabet is class k + 1; class 0 is the CTC blank. The utterances are shuffled
by ``seed``; the last ``floor(N * val_fraction)`` are the validation split. A batch pads its
frames with zeros and its labels with 0, each to its longest (rounded up to 8); the mask is
true on each utterance's frames. The metric is the label error rate of decoded output (edit
distance over reference length; greedy decoding in ``counts``, beam search in ``decode``
where asked); the baseline is the better of predicting nothing (1.0) and predicting the
training split's most frequent transcript.
"""

from __future__ import annotations

import collections
import hashlib
import io
from pathlib import Path

import numpy as np

import seqkit
from seqkit.data.files import read_data_file
from seqkit.decoding.ctc import ctc_beam_decode, ctc_greedy_decode
from seqkit.errors import DataError
from seqkit.interfaces import DecodingTask
from seqkit_plugins.default_data import default_file
from seqkit_plugins.default_data.make_transcribe import render
from seqkit_plugins.sequence_metrics import label_errors
from seqkit_plugins.task_data import (
    ListedSplits,
    check_fraction,
    check_int,
    shuffled_split,
)

NAME = "transcribe"
EMBEDDED = "transcribe.npz"
BUCKET = 8  # padded lengths are multiples of this: few shapes for a compiled step to trace


def read_utterances(path: str) -> dict[str, np.ndarray]:
    """The members of a transcribe ``.npz`` file ("" reads the embedded one), checked."""
    if path in (None, ""):
        data = default_file(EMBEDDED).read_bytes()
        where = f"the embedded {EMBEDDED}"
    else:
        fix = "give an .npz of frames, frame_lengths and transcripts, or leave path empty"
        data = read_data_file(NAME, Path(path).expanduser(), if_missing=fix)
        where = repr(str(path))
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"{NAME}: {where} is not a NumPy .npz file ({exc}).") from None
    missing = [k for k in ("frames", "frame_lengths", "transcripts") if k not in arrays]
    if missing:
        raise DataError(
            f"{NAME}: {where} lacks {', '.join(missing)}; an .npz of frames [total, F], "
            "frame_lengths [N] and transcripts [N] is expected."
        )
    frames, lengths = arrays["frames"], arrays["frame_lengths"]
    if frames.ndim != 2 or lengths.ndim != 1 or int(lengths.sum()) != len(frames):
        raise DataError(
            f"{NAME}: in {where}, frames {frames.shape} and frame_lengths (sum "
            f"{int(lengths.sum())}) disagree; frames is [total, F] with total = sum of lengths."
        )
    if len(arrays["transcripts"]) != len(lengths):
        raise DataError(f"{NAME}: in {where}, the transcripts and frame_lengths differ in number.")
    return arrays


def check_feasible(frames: list[np.ndarray], labels: list[np.ndarray]) -> None:
    """Each utterance has enough frames for CTC: its labels plus a blank between equal ones."""
    for index, (x, y) in enumerate(zip(frames, labels, strict=True)):
        needed = len(y) + int(np.sum(y[1:] == y[:-1]))
        if len(x) < needed:
            raise DataError(
                f"{NAME}: utterance {index} has {len(x)} frames for {len(y)} labels, which "
                f"need at least {needed}; give each utterance more frames than labels."
            )


class TranscribeTask(ListedSplits, seqkit.Task, DecodingTask):
    """Transcribe frames into labels; CTC loss, label error rate of decoded output."""

    target_form = "unaligned"
    default_loss = "ctc"
    default_truncation = "bptt"  # the CTC loss needs every frame of the utterance
    # A small bidirectional GRU learns the embedded digits in a minute or two on 2 cores;
    # its validation loss starts to rise after about 400 updates.
    owner = NAME  # in ListedSplits' errors
    recommended = {
        "model.cell": "gru",
        "model.hidden_size": 64,
        "model.bidirectional": True,
        "train.batch_size": 32,
        "train.steps": 400,
        "train.eval_every": 100,
        "train.checkpoint_every": 100,
    }

    def __init__(
        self,
        path: str = "",  # "" is the embedded noisy digit strings
        val_fraction: float = 0.1,
        seed: int = 0,  # the shuffle before the split, and read_sources' noise
    ):
        val_fraction = check_fraction(NAME, "val_fraction", val_fraction)
        self.seed = check_int(NAME, "seed", seed, 0)
        arrays = read_utterances(path)
        transcripts = [str(t) for t in arrays["transcripts"]]
        alphabet = arrays.get("alphabet")
        self.alphabet = (
            str(alphabet) if alphabet is not None else "".join(sorted(set("".join(transcripts))))
        )
        self.prototypes = arrays.get("prototypes")
        offsets = np.cumsum(arrays["frame_lengths"])[:-1]
        frames = np.split(arrays["frames"].astype(np.float32), offsets)
        labels = [self.encode(t) for t in transcripts]
        check_feasible(frames, labels)
        self.input_size = int(arrays["frames"].shape[1])
        train_rows, val_rows = shuffled_split(len(frames), val_fraction, self.seed)
        self.train = ([frames[i] for i in train_rows], [labels[i] for i in train_rows])
        self.val = ([frames[i] for i in val_rows], [labels[i] for i in val_rows])

    def vocabulary_fingerprint(self) -> str:
        """A SHA-256 of the alphabet: label id i + 1 is its i-th character."""
        return hashlib.sha256(self.alphabet.encode("utf-8")).hexdigest()

    def encode(self, transcript: str) -> np.ndarray:
        """A transcript's label ids ``[n]`` (alphabet index + 1); unknown labels fail."""
        index = {c: i + 1 for i, c in enumerate(self.alphabet)}
        unknown = [c for c in transcript if c not in index]
        if unknown:
            raise DataError(
                f"{NAME}: the label {unknown[0]!r} is not in the alphabet {self.alphabet!r}; "
                "use the data's labels."
            )
        return np.array([index[c] for c in transcript], np.int32)

    def model_dims(self) -> dict[str, int]:
        """The frames' width and the classes: the labels and the blank."""
        return {"input_size": self.input_size, "output_size": len(self.alphabet) + 1}

    # -- batches -------------------------------------------------------------------------------

    @staticmethod
    def batch(frames, labels) -> seqkit.SequenceBatch:
        """Frames ``[B, T, F]`` padded with zeros, their mask, labels ``[B, L]`` padded with 0."""
        length = -(-max(len(x) for x in frames) // BUCKET) * BUCKET
        inputs = np.zeros([len(frames), length, frames[0].shape[1]], np.float32)
        for row, x in enumerate(frames):
            inputs[row, : len(x)] = x
        mask = np.arange(length)[None, :] < np.array([len(x) for x in frames])[:, None]
        width = -(-max(1, *(len(y) for y in labels)) // BUCKET) * BUCKET
        targets = np.zeros([len(labels), width], np.int32)
        for row, y in enumerate(labels):
            targets[row, : len(y)] = y
        return seqkit.SequenceBatch(inputs, targets, mask)

    def read_sources(self, texts) -> seqkit.SequenceBatch:
        """Frames that say each of ``texts`` (transcripts), rendered as the synthetic data
        were (their prototypes and noise, drawn from ``seed``)."""
        if self.prototypes is None:
            raise DataError(
                f"{NAME}: this data has no prototypes to render a transcript as frames; only "
                "synthetic data (the embedded default) can read a source text."
            )
        if isinstance(texts, str) or not texts or not all(texts):
            raise DataError(f"{NAME}: give a list of non-empty transcripts, got {texts!r}.")
        rng = np.random.RandomState(self.seed)
        labels = [self.encode(str(t)) for t in texts]
        frames = [render(str(t), self.prototypes, rng) for t in texts]
        return self.batch(frames, labels)

    def serving_terms(self) -> seqkit.ServingTerms:
        """An export reads frames and answers with transcripts: class 0 is the blank, class
        k the alphabet's k-th label."""
        return seqkit.ServingTerms(output_names=("<blank>", *self.alphabet), output_separator="")

    # -- decoded output ------------------------------------------------------------------------

    def decode(self, model, batch, beam_width: int = 1) -> list[np.ndarray]:
        """Each utterance's labels: the best path (``beam_width`` 1) or a CTC beam search."""
        logits, _ = model(batch.inputs, mask=batch.mask)
        if beam_width == 1:
            return ctc_greedy_decode(logits, batch.mask)
        return ctc_beam_decode(logits, batch.mask, beam_width)

    def target_text(self, ids) -> str:
        """Label ids as the transcript's characters."""
        return "".join(self.alphabet[int(i) - 1] for i in np.asarray(ids).reshape(-1))

    @staticmethod
    def references(targets) -> list[np.ndarray]:
        """Each row's labels, without the padding."""
        return [row[row != 0] for row in np.asarray(targets)]

    def decoded_counts(self, batch, predicted) -> dict[str, tuple[float, float]]:
        """The label error rate of ``predicted``: edit distance over reference length."""
        return {"label_error_rate": label_errors(self.references(batch.targets), predicted)}

    def counts(self, targets, outputs, mask=None) -> dict[str, tuple[float, float]]:
        """The label error rate of the best path through ``outputs`` ``[B, T, C]``."""
        predicted = ctc_greedy_decode(outputs, mask)
        return {"label_error_rate": label_errors(self.references(targets), predicted)}

    def metrics(self, mean_loss: float) -> dict[str, float]:
        """The loss: the CTC negative log-likelihood in nats per utterance."""
        return {"loss": float(mean_loss)}

    def baselines(self) -> dict[str, float]:
        """The validation label error rate of the better of two model-free predictions:
        nothing (1.0), or the training split's most frequent transcript."""
        references = self.val[1]
        if not references or not self.train[1]:
            return {}
        counts = collections.Counter(tuple(t.tolist()) for t in self.train[1])
        frequent = np.array(counts.most_common(1)[0][0], np.int32)
        errors, length = label_errors(references, [frequent] * len(references))
        return {"label_error_rate": min(1.0, errors / length)}


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register(NAME, TranscribeTask)
