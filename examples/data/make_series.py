"""Write examples/data/temperatures.csv: a SYNTHETIC hourly weather series, not measurements.

    python examples/data/make_series.py            # rewrites temperatures.csv beside this file
    python examples/data/make_series.py out.csv    # or writes another file

180 days of hourly rows (4,320), from the generator of the series task's default data
(``seqkit_plugins/default_data/make_series.py``, which says what the columns hold; its default is
the
first 90 of these days). Seeded: the same file every time.
"""

from __future__ import annotations

import sys
from pathlib import Path

from seqkit_plugins.default_data.make_series import write

DAYS = 180


def main(argv: list[str]) -> None:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("temperatures.csv")
    write(path, days=DAYS)


if __name__ == "__main__":
    main(sys.argv)
