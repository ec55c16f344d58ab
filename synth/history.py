"""Time in the synthetic history: tertials, trends by year, sender versions, the NPR receiver and
when each file arrives at NPR.

A tertial is (year, 1..3): January-April, May-August, September-December. Everything here is a
pure function of its arguments (and the seed where it draws), so a file's content and its arrival
date never depend on which other files an `--as-of` run writes.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib

from synth import parameters as P

NEW_VERSION, OLD_VERSION = "58.0.1", "57.0.1"


def tertial_bounds(year: int, tertial: int) -> tuple[dt.date, dt.date]:
    start_month = 1 + 4 * (tertial - 1)
    end = dt.date(year, start_month + 4, 1) - dt.timedelta(days=1) if tertial < 3 else dt.date(year, 12, 31)
    return dt.date(year, start_month, 1), end


def tertial_of(day: dt.date) -> tuple[int, int]:
    return day.year, 1 + (day.month - 1) // 4


def growth(rate: float, year: int) -> float:
    """Volume of `year` relative to the reference year at a yearly growth `rate`."""
    return (1 + rate) ** (year - P.REFERENCE_YEAR)


def hypo_factor(year: int) -> float:
    return P.RT_HYPO_YEARLY_FACTOR ** (year - P.REFERENCE_YEAR)


def yearly_deadline(year: int) -> dt.date:
    """NPR's deadline for the final data of `year` (in the spring after it)."""
    month, day = P.YEARLY_DEADLINE
    return dt.date(year + 1, month, day)


def upgrade_day(orgnr: str) -> dt.date:
    """The day a sender's systems start writing 58.0.1 (a fixed day per sender)."""
    if orgnr in P.SENDERS_ON_OLD_VERSION_T1:
        return dt.date.fromisoformat(P.LATE_UPGRADE_DAY)
    lo, hi = (dt.date.fromisoformat(d) for d in P.VERSION_UPGRADE_WINDOW)
    frac = zlib.crc32(f"upgrade:{orgnr}".encode()) / 2**32
    return lo + dt.timedelta(days=int(frac * (hi - lo).days))


def version(orgnr: str, uttak: dt.date) -> str:
    return NEW_VERSION if uttak >= upgrade_day(orgnr) else OLD_VERSION


def receiver(day: dt.date) -> tuple[str, str]:
    """(name, orgnr) of NPR's owner on the day a file is sent."""
    name, orgnr = P.NPR_RECEIVERS[0][1:]
    for first, n, o in P.NPR_RECEIVERS:
        if day >= dt.date.fromisoformat(first):
            name, orgnr = n, o
    return name, orgnr


def arrival(rng: random.Random, uttak: dt.date) -> dt.date:
    return uttak + dt.timedelta(days=rng.randint(*P.ARRIVAL_DELAY_DAYS))


def resend_day(rng: random.Random, year: int, tertial: int) -> dt.date:
    """When a complete B resend of a tertial is extracted: soon after its first B, or in the
    yearly round of resends before the deadline (the previous year's tertials, January-February)."""
    _, end = tertial_bounds(year, tertial)
    soon = end + dt.timedelta(days=rng.randint(*P.RESEND_DELAY_DAYS))
    deadline = yearly_deadline(year)
    if rng.random() < P.YEARLY_RESEND_SHARE:
        start = max(dt.date(year + 1, 1, 10), soon)
        if start < deadline - dt.timedelta(days=3):
            return start + dt.timedelta(days=rng.randrange((deadline - start).days - 3))
    return soon


def parse_years(text: str) -> tuple[int, int]:
    """`2025` or `2021-2025` → (first, last); the CLI's `--years`."""
    first, _, last = text.partition("-")
    a, b = int(first), int(last or first)
    if not 1990 <= a <= b <= 2100:
        raise ValueError(f"years {text!r}: want YYYY or YYYY-YYYY, first <= last")
    return a, b
