"""Write examples/data/sentiment.tsv: SYNTHETIC product reviews from templates, not real ones.

    python examples/data/make_sentiment.py             # rewrites sentiment.tsv beside this file
    python examples/data/make_sentiment.py out.tsv     # or writes another file

300 lines of ``label<TAB>text`` with the labels ``pos`` and ``neg`` (about 55% pos). Some
templates negate the adjective ("was not good"), so a bag of words is not quite enough.
Standard library only, seeded: the same file every time.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

LINES = 300
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


def main(argv: list[str]) -> None:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("sentiment.tsv")
    path.write_text("".join(line + "\n" for line in lines()), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv)
