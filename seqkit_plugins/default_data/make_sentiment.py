"""Write sentiment.tsv, the classify task's default data: SYNTHETIC product reviews from
templates, not real ones.

    python -m seqkit_plugins.default_data.make_sentiment          # rewrites the packaged file
    python -m seqkit_plugins.default_data.make_sentiment out.tsv  # or writes another file

2,000 lines of ``label<TAB>text`` with the labels ``pos`` and ``neg`` (about 55% pos). Some
templates negate the adjective ("was not good"), so a bag of words is not quite enough.
Standard library only, seeded: the same file every time (``examples/data/make_sentiment.py``
writes it too).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

LINES = 2000  # a validation split of 200 lines: a figure that means something
SEED = 11
POSITIVE = ["good", "great", "excellent", "lovely", "reliable", "comfortable", "fast"]
NEGATIVE = ["bad", "awful", "poor", "flimsy", "noisy", "slow", "disappointing"]
NOUNS = ["kettle", "lamp", "chair", "phone", "jacket", "blender", "backpack", "keyboard"]
TEMPLATES = [
    "the {noun} is {adj}",
    "this {noun} was {adj}",
    "a {adj} {noun}",
    "my new {noun} feels {adj}",
    "really {adj} {noun} overall",
    "i found the {noun} {adj}",
]
NEGATED = ["the {noun} was not {adj}", "this {noun} is not {adj} at all"]


def lines(count: int = LINES, seed: int = SEED) -> list[str]:
    """``count`` lines of ``label<TAB>text``."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        positive = rng.random() < 0.55
        negated = rng.random() < 0.2
        # a negated adjective of the other polarity keeps the label
        words = (
            (NEGATIVE if positive else POSITIVE)
            if negated
            else (POSITIVE if positive else NEGATIVE)
        )
        template = rng.choice(NEGATED if negated else TEMPLATES)
        text = template.format(noun=rng.choice(NOUNS), adj=rng.choice(words))
        out.append(f"{'pos' if positive else 'neg'}\t{text}")
    return out


def write(path: Path, count: int = LINES, seed: int = SEED) -> None:
    """Write ``count`` lines to ``path``."""
    path.write_text("".join(line + "\n" for line in lines(count, seed)), encoding="utf-8")


def main(argv: list[str]) -> None:
    write(Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("sentiment.tsv"))


if __name__ == "__main__":
    main(sys.argv)
