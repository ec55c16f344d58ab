"""The keyed pseudonym that replaces a fødselsnummer at parse time, and its control-digit check.

`person_pseudonym` = HMAC-SHA256(key, fid) as hex. The key comes from env
`STRALEBRUK_PSEUDONYM_KEY`. Without it the documented demo key `DEMO_KEY` is used and a loud
warning goes to stderr once per process: pseudonyms made with a public key can be reversed by
anyone who tries all birth dates, so the demo key must never be used on real data.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys

ENV_KEY = "STRALEBRUK_PSEUDONYM_KEY"
DEMO_KEY = "stralebruk-demo-key-NOT-FOR-REAL-DATA"

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_warned = False


def pseudonym_key() -> bytes:
    global _warned
    key = os.environ.get(ENV_KEY)
    if key:
        return key.encode("utf-8")
    if not _warned:
        _warned = True
        print(
            f"WARNING: {ENV_KEY} is not set; using the PUBLIC demo pseudonym key. Pseudonyms made "
            "with it are reversible. Set the variable before loading real data.",
            file=sys.stderr,
        )
    return DEMO_KEY.encode("utf-8")


def pseudonymise(fid: str, key: bytes) -> str:
    return hmac.new(key, fid.encode("utf-8"), hashlib.sha256).hexdigest()


def control_digit(digits: list[int], weights: tuple[int, ...]) -> int | None:
    """The mod-11 control digit for `digits` with `weights`; None where none exists."""
    k = 11 - sum(w * d for w, d in zip(weights, digits, strict=False)) % 11
    return None if k == 10 else (0 if k == 11 else k)


def fid_valid(fid: str) -> bool:
    """Both mod-11 control digits of an 11-digit fødselsnummer or D-number pass.

    A D-number is a fødselsnummer with 4 added to the first digit; the control digits are computed
    the same way, so one check covers both.
    """
    if len(fid) != 11 or not fid.isascii() or not fid.isdigit():
        return False
    d = [int(c) for c in fid]
    return control_digit(d[:9], W1) == d[9] and control_digit(d[:10], W2) == d[10]
