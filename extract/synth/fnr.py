"""Norwegian fødselsnumre and D-numbers: control digits (mod 11) and construction.

DDMMYY III K1 K2: III is the individual number (000-499 for births 1900-1999, 500-999 for
2000-2039; its last digit odd for men, even for women), K1 and K2 are mod-11 control digits.
A D-number adds 4 to the first digit of the day; an H-number (hjelpenummer, given by hospitals
to persons without a known number) adds 4 to the first digit of the month.
"""

from __future__ import annotations

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _control(digits: list[int], weights: tuple[int, ...]) -> int:
    """The mod-11 control digit, or 10 when no valid digit exists."""
    k = 11 - sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
    return 0 if k == 11 else k


def is_valid(fid: str) -> bool:
    """True if `fid` is 11 digits with correct control digits (fødselsnummer or D-number)."""
    if len(fid) != 11 or not fid.isdigit():
        return False
    digits = [int(c) for c in fid]
    k1 = _control(digits[:9], _W1)
    if k1 == 10 or k1 != digits[9]:
        return False
    k2 = _control(digits[:10], _W2)
    return k2 != 10 and k2 == digits[10]


def make(
    day: int, month: int, year: int, individual: int, d_number: bool = False, h_number: bool = False
) -> str | None:
    """The identifier for a birth date and individual number; None if no control digits exist."""
    dd = day + 40 if d_number else day
    mm = month + 40 if h_number else month
    base = f"{dd:02d}{mm:02d}{year % 100:02d}{individual:03d}"
    digits = [int(c) for c in base]
    k1 = _control(digits, _W1)
    if k1 == 10:
        return None
    k2 = _control([*digits, k1], _W2)
    if k2 == 10:
        return None
    return f"{base}{k1}{k2}"


def individual_base(year: int) -> int:
    """First individual number of the range used for a birth year."""
    return 0 if year < 2000 else 500


def corrupt(fid: str) -> str:
    """The same identifier with a wrong second control digit (for planted findings)."""
    return fid[:10] + str((int(fid[10]) + 1) % 10)
