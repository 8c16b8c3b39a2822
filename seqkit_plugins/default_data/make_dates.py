"""Write ``dates.tsv``, the ``seq2seq`` task's embedded default: dates written in many human
forms, each with its ISO 8601 form.

    python seqkit_plugins/default_data/make_dates.py    # writes default_data/dates.tsv
    python seqkit_plugins/default_data/make_dates.py out.tsv --pairs 2000 --seed 1

One ``source<TAB>target`` line a pair, e.g. ``tuesday, march 5, 1991	1991-03-05``. The dates
are uniform over 1950-01-01 .. 2049-12-31; each is written in one of 15 forms, its month and
weekday names in lower case, title case or capitals. Two-digit years are 1950..2049 (50 is
1950, 49 is 2049); "05.03.1991" is day first and "03/05/1991" month first, so that the
separator tells them apart. Sources are distinct.

Deterministic: it draws only from ``random.Random(seed).random()``, whose sequence Python
keeps the same across versions, so the same seed writes the same bytes.
"""

from __future__ import annotations

import argparse
import datetime
import random
from pathlib import Path

MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
FIRST_DAY = datetime.date(1950, 1, 1)
DAYS = (datetime.date(2049, 12, 31) - FIRST_DAY).days + 1

FORMS = [
    "{d} {month} {yyyy}",
    "{month} {d}, {yyyy}",
    "{d} {mon} {yyyy}",
    "{mon} {d} {yyyy}",
    "{weekday}, {month} {d}, {yyyy}",
    "{wkd} {d} {mon} {yyyy}",
    "{dd}.{mm}.{yyyy}",
    "{mm}/{dd}/{yyyy}",
    "{nth} of {month} {yyyy}",
    "{month} {nth}, {yyyy}",
    "the {nth} of {month}, {yyyy}",
    "{yyyy} {month} {d}",
    "{dd}-{mon}-{yy}",
    "{d}.{m}.{yy}",
    "{yyyy}{mm}{dd}",
]


def ordinal(day: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, ..., 21st, ..."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def pick(rng: random.Random, count: int) -> int:
    """An int in [0, count) from one ``rng.random()``."""
    return min(int(rng.random() * count), count - 1)


def written(date: datetime.date, form: str, case: str) -> str:
    """``date`` in ``form``, its names in ``case`` (lower, title or upper)."""

    def name(word: str) -> str:
        return {"lower": word, "title": word.title(), "upper": word.upper()}[case]

    month, weekday = MONTHS[date.month - 1], WEEKDAYS[date.weekday()]
    return form.format(
        d=date.day,
        dd=f"{date.day:02d}",
        m=date.month,
        mm=f"{date.month:02d}",
        yyyy=date.year,
        yy=f"{date.year % 100:02d}",
        month=name(month),
        mon=name(month[:3]),
        weekday=name(weekday),
        wkd=name(weekday[:3]),
        nth=ordinal(date.day),
    )


def make_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` pairs ``(human form, ISO form)`` with distinct human forms."""
    rng = random.Random(seed)
    pairs, seen = [], set()
    while len(pairs) < count:
        date = FIRST_DAY + datetime.timedelta(days=pick(rng, DAYS))
        form = FORMS[pick(rng, len(FORMS))]
        draw = rng.random()
        case = "lower" if draw < 0.6 else "title" if draw < 0.9 else "upper"
        source = written(date, form, case)
        if source not in seen:
            seen.add(source)
            pairs.append((source, date.isoformat()))
    return pairs


def render(pairs: list[tuple[str, str]]) -> bytes:
    """The file's bytes: a ``source<TAB>target`` line a pair, UTF-8, ``\\n`` line ends."""
    return "".join(f"{source}\t{target}\n" for source, target in pairs).encode("utf-8")


DEFAULT_PAIRS, DEFAULT_SEED = 5000, 0  # a few thousand: a CPU learns it in a minute or two


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(Path(__file__).with_name("dates.tsv")))
    parser.add_argument("--pairs", type=int, default=DEFAULT_PAIRS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    Path(args.out).write_bytes(render(make_pairs(args.pairs, args.seed)))


if __name__ == "__main__":
    main()
