"""Write examples/data/tagging.tsv: SYNTHETIC part-of-speech-like sentences from a toy grammar.

    python examples/data/make_tagging.py             # rewrites tagging.tsv beside this file
    python examples/data/make_tagging.py out.tsv     # or writes another file

300 sentences of ``token<TAB>tag`` lines, from the generator of the tag task's default data
(``seqkit_plugins/default_data/make_tagging.py``, which gives the grammar): the same file as that
default. Seeded: the same file every time.
"""

from __future__ import annotations

import sys
from pathlib import Path

from seqkit_plugins.default_data.make_tagging import write

SENTENCES = 300


def main(argv: list[str]) -> None:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("tagging.tsv")
    write(path, count=SENTENCES)


if __name__ == "__main__":
    main(sys.argv)
