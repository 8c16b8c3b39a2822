"""The default data sets of the file tasks, inside the package: ``path = ""`` (the default)
reads them, so that ``seqkit run --set task.name=series`` (or ``classify``, ``tag``,
``seq2seq``, ``transcribe``) needs no file.

    temperatures.csv  series      make_series.py      90 days of hourly time, temperature, humidity
    sentiment.tsv     classify    make_sentiment.py   300 label<TAB>text reviews, pos or neg
    tagging.tsv       tag         make_tagging.py     300 sentences of token<TAB>tag, a toy grammar
    dates.tsv         seq2seq     make_dates.py       5,000 dates in human forms -> ISO 8601
    transcribe.npz    transcribe  make_transcribe.py  1,200 noisy-frame utterances of digits

All are SYNTHETIC, made by the seeded script beside each; running a script again writes the
same bytes (``python -m seqkit_plugins.default_data.make_series OUT``; the tests check it).
``examples/data/`` holds the same generators' richer files (the series' 180 days).
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def default_file(name: str) -> Traversable:
    """The packaged data file ``name``, e.g. ``default_file("sentiment.tsv")``."""
    return files(__name__) / name
