"""Write tagging.tsv, the tag task's default data: SYNTHETIC part-of-speech-like sentences
from a toy grammar.

    python -m seqkit_plugins.default_data.make_tagging          # rewrites the packaged file
    python -m seqkit_plugins.default_data.make_tagging out.tsv  # or writes another file

300 sentences, one ``token<TAB>tag`` a line and a blank line between sentences, with the tags
DET, ADJ, NOUN, VERB, ADP and PUNCT. A few words are both nouns and verbs ("watch", "run",
"book"), so a token's most frequent tag is not always right. Standard library only, seeded:
the same file every time (``examples/data/make_tagging.py`` writes it too).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

SENTENCES = 300
SEED = 5
WORDS = {
    "DET": ["the", "a", "this", "every"],
    "ADJ": ["small", "red", "quiet", "old", "bright"],
    "NOUN": ["dog", "cat", "river", "city", "watch", "run", "book", "teacher", "garden"],
    "VERB": ["sees", "likes", "watch", "run", "book", "crosses", "finds"],
    "ADP": ["near", "in", "under", "with"],
}


def noun_phrase(rng: random.Random) -> list[tuple[str, str]]:
    phrase = [(rng.choice(WORDS["DET"]), "DET")]
    phrase += [(rng.choice(WORDS["ADJ"]), "ADJ") for _ in range(rng.choice([0, 0, 1, 2]))]
    return phrase + [(rng.choice(WORDS["NOUN"]), "NOUN")]


def sentence(rng: random.Random) -> list[tuple[str, str]]:
    """DET ADJ* NOUN VERB [DET ADJ* NOUN] [ADP DET ADJ* NOUN] PUNCT."""
    words = noun_phrase(rng) + [(rng.choice(WORDS["VERB"]), "VERB")]
    if rng.random() < 0.7:
        words += noun_phrase(rng)
    if rng.random() < 0.4:
        words += [(rng.choice(WORDS["ADP"]), "ADP")] + noun_phrase(rng)
    return words + [(".", "PUNCT")]


def text(count: int = SENTENCES, seed: int = SEED) -> str:
    rng = random.Random(seed)
    blocks = ["".join(f"{w}\t{t}\n" for w, t in sentence(rng)) for _ in range(count)]
    return "\n".join(blocks)


def write(path: Path, count: int = SENTENCES, seed: int = SEED) -> None:
    """Write ``count`` sentences to ``path``."""
    path.write_text(text(count, seed), encoding="utf-8")


def main(argv: list[str]) -> None:
    write(Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("tagging.tsv"))


if __name__ == "__main__":
    main(sys.argv)
