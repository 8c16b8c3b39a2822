"""Write examples/data/sentiment.tsv: SYNTHETIC product reviews from templates, not real ones.

    python examples/data/make_sentiment.py             # rewrites sentiment.tsv beside this file
    python examples/data/make_sentiment.py out.tsv     # or writes another file

300 lines of ``label<TAB>text``, from the generator of the classify task's default data
(``seqkit_plugins/default_data/make_sentiment.py``, which says how they are made): the same file as
that default. Seeded: the same file every time.
"""

from __future__ import annotations

import sys
from pathlib import Path

from seqkit_plugins.default_data.make_sentiment import write

LINES = 300


def main(argv: list[str]) -> None:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("sentiment.tsv")
    write(path, count=LINES)


if __name__ == "__main__":
    main(sys.argv)
