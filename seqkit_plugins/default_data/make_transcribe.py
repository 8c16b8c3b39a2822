"""Write ``transcribe.npz``, the ``transcribe`` task's embedded default: noisy frames of digit
strings, as speech features are of words, with the digits they say.

    python seqkit_plugins/default_data/make_transcribe.py   # writes default_data/transcribe.npz
    python seqkit_plugins/default_data/make_transcribe.py out.npz --utterances 500 --seed 1

Each utterance says 3 to 7 digits. Digit k has a prototype vector p_k of ``FEATURES`` numbers;
it is said over 2 to 4 frames (uniform), frame j of d being g * sin(pi (j + 1/2) / d) * p_k +
noise: a rise and a fall. Between two digits there are 0 or 1 silent frames, and 1 or 2
between two equal digits (so that "4 4" is never one long "4"), and 1 or 2 before and after
the utterance; a silent frame is noise alone. The noise is Gaussian (standard deviation
``NOISE``) and g, the utterance's loudness, is uniform in [0.7, 1.3]. The alignment (which
frames say which digit) is not stored: a model must learn it.

The file (``numpy.load``) holds ``frames`` [total frames, F] float16 (every utterance's frames,
one after the other), ``frame_lengths`` [N] int32, ``transcripts`` [N] (strings of digits),
``alphabet`` ("0123456789") and ``prototypes`` [10, F] float32 (p_k in alphabet order), with
which ``render`` says any digit string the same way.

Deterministic: NumPy's legacy ``RandomState`` stream is frozen, and the zip members carry a
fixed date, so the same seed writes the same bytes (on the same NumPy).
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

ALPHABET = "0123456789"
FEATURES = 8  # enough for 10 prototypes to stand apart through the noise
NOISE = 0.5  # the noise's standard deviation; a prototype's norm is about sqrt(8)
DIGITS = (3, 7)  # digits per utterance, inclusive
DURATION = (2, 4)  # frames per digit, inclusive
GAP = (0, 1)  # silent frames between digits
REPEAT_GAP = (1, 2)  # silent frames between two equal digits
EDGE = (1, 2)  # silent frames before and after
LOUDNESS = (0.7, 1.3)


def render(transcript: str, prototypes: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """The frames ``[T, F]`` float32 of one utterance of ``transcript`` (characters of
    ``ALPHABET``), drawn with ``rng``."""
    gain = rng.uniform(*LOUDNESS)
    frames = [np.zeros([rng.randint(EDGE[0], EDGE[1] + 1), prototypes.shape[1]])]
    for position, character in enumerate(transcript):
        if position:
            low, high = REPEAT_GAP if character == transcript[position - 1] else GAP
            frames.append(np.zeros([rng.randint(low, high + 1), prototypes.shape[1]]))
        steps = rng.randint(DURATION[0], DURATION[1] + 1)
        hump = np.sin(np.pi * (np.arange(steps) + 0.5) / steps)  # [d]
        frames.append(gain * hump[:, None] * prototypes[ALPHABET.index(character)])
    frames.append(np.zeros([rng.randint(EDGE[0], EDGE[1] + 1), prototypes.shape[1]]))
    clean = np.concatenate(frames)
    return (clean + NOISE * rng.standard_normal(clean.shape)).astype(np.float32)


def make_data(count: int, seed: int) -> dict[str, np.ndarray]:
    """The arrays of ``count`` utterances (the file's members)."""
    rng = np.random.RandomState(seed)
    prototypes = rng.standard_normal([len(ALPHABET), FEATURES]).astype(np.float32)
    transcripts, utterances = [], []
    for _ in range(count):
        length = rng.randint(DIGITS[0], DIGITS[1] + 1)
        transcript = "".join(ALPHABET[i] for i in rng.randint(0, len(ALPHABET), size=length))
        transcripts.append(transcript)
        utterances.append(render(transcript, prototypes, rng))
    return {
        "frames": np.concatenate(utterances).astype(np.float16),
        "frame_lengths": np.array([len(u) for u in utterances], np.int32),
        "transcripts": np.array(transcripts),
        "alphabet": np.array(ALPHABET),
        "prototypes": prototypes,
    }


def render_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """The arrays as ``.npz`` bytes (a zip of ``.npy`` files, as ``numpy.savez_compressed``
    writes, but with a fixed date in each member so that the bytes repeat)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    return out.getvalue()


DEFAULT_UTTERANCES, DEFAULT_SEED = 1200, 0  # ~280 KB; learnt in a minute or two on a CPU


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(Path(__file__).with_name("transcribe.npz")))
    parser.add_argument("--utterances", type=int, default=DEFAULT_UTTERANCES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    Path(args.out).write_bytes(render_npz(make_data(args.utterances, args.seed)))


if __name__ == "__main__":
    main()
