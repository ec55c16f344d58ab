"""Norwegian fødselsnumre and D-numbers: control digits (mod 11) and construction.

DDMMYY III K1 K2: III is the individual number (000-499 for births 1900-1999, 500-999 for
2000-2039; its last digit odd for men, even for women), K1 and K2 are mod-11 control digits.
A D-number adds 4 to the first digit of the day; an H-number (hjelpenummer, given by hospitals
to persons without a known number) adds 4 to the first digit of the month.
"""

from __future__ import annotations

from extract.pseudonym import W1, W2, control_digit, fid_valid

# The control-digit rule lives with the extractor's check, so generator and check cannot drift.
is_valid = fid_valid


def make(
    day: int, month: int, year: int, individual: int, d_number: bool = False, h_number: bool = False
) -> str | None:
    """The identifier for a birth date and individual number; None if no control digits exist."""
    dd = day + 40 if d_number else day
    mm = month + 40 if h_number else month
    base = f"{dd:02d}{mm:02d}{year % 100:02d}{individual:03d}"
    digits = [int(c) for c in base]
    k1 = control_digit(digits, W1)
    if k1 is None:
        return None
    k2 = control_digit([*digits, k1], W2)
    if k2 is None:
        return None
    return f"{base}{k1}{k2}"


def individual_base(year: int) -> int:
    """First individual number of the range used for a birth year."""
    return 0 if year < 2000 else 500


def corrupt(fid: str) -> str:
    """The same identifier with a wrong second control digit (for planted findings)."""
    return fid[:10] + str((int(fid[10]) + 1) % 10)
