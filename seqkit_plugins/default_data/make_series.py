"""Write temperatures.csv, the series task's default data: a SYNTHETIC hourly weather series,
not measurements.

    python -m seqkit_plugins.default_data.make_series          # rewrites the packaged file
    python -m seqkit_plugins.default_data.make_series out.csv  # or writes another file

90 days of hourly rows (2,160): ``time`` (an ISO time stamp, not numeric, so the series task
skips it), ``temperature`` in degrees C (a daily cycle peaking at 15:00, a slow seasonal drift
and AR(1) noise) and ``humidity`` in percent (falling as the temperature rises, with its own
noise). 90 days give the default window of 48 hours about 1,900 training windows and 4
validation windows, in about 60 KB. Standard library only, seeded: the same file every time;
``examples/data/make_series.py`` writes 180 days of the same series.
"""

from __future__ import annotations

import csv
import datetime
import math
import random
import sys
from pathlib import Path

DAYS = 90
SEED = 7


def rows(days: int = DAYS, seed: int = SEED) -> list[list[str]]:
    """The header and one row per hour."""
    rng = random.Random(seed)
    start = datetime.datetime(2023, 3, 1)
    out = [["time", "temperature", "humidity"]]
    noise = 0.0
    for hour in range(days * 24):
        day = hour / 24.0
        daily = 5.0 * math.sin(2 * math.pi * (hour % 24 - 9) / 24)  # peak at 15:00
        seasonal = 8.0 * math.sin(2 * math.pi * (day - 30) / 365)  # spring into summer
        noise = 0.8 * noise + rng.gauss(0.0, 0.6)  # AR(1): weather persists for hours
        temperature = 12.0 + seasonal + daily + noise
        humidity = min(100.0, max(5.0, 75.0 - 2.0 * (temperature - 12.0) + rng.gauss(0, 3)))
        time = (start + datetime.timedelta(hours=hour)).isoformat(timespec="minutes")
        out.append([time, f"{temperature:.2f}", f"{humidity:.1f}"])
    return out


def write(path: Path, days: int = DAYS, seed: int = SEED) -> None:
    """Write the CSV file of ``days`` days to ``path``."""
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows(days, seed))


def main(argv: list[str]) -> None:
    write(Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("temperatures.csv"))


if __name__ == "__main__":
    main(sys.argv)
