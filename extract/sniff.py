"""Sniff a message file from its first bytes: module, version, encoding, envelope, and the
refusals that must never reach the parser (empty, DOCTYPE/ENTITY, no root element or namespace
within the first SNIFF_BYTES, UTF-16/32, an encoding other than UTF-8 / ISO-8859-1). Cheap: regular
expressions on at most SNIFF_BYTES."""

from __future__ import annotations

import re
from dataclasses import dataclass

from extract.model import faults
from extract.model.faults import Rejected

SNIFF_BYTES = 1 << 20  # the prolog and root start tag must be within this

_PROLOG_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_NPR_NS = re.compile(rb"http://www\.npr\.no/xmlstds/([0-9][0-9_]*)_([A-Za-z]+)[\"']")
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
# Byte order marks and the zero bytes of '<?' in UTF-16/32: an encoding this reader does not take.
_WIDE_STARTS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"<\x00?\x00", b"\x00<\x00?", b"\x00\x00\x00<")
_ACCEPTED_ENCODINGS = {"utf-8": "UTF-8", "utf8": "UTF-8", "iso-8859-1": "ISO-8859-1", "latin1": "ISO-8859-1"}


@dataclass(frozen=True)
class Sniff:
    module: str | None
    version: str | None
    encoding: str | None  # as declared (normalised when accepted)
    envelope: str | None  # "MsgHead" or "Melding"
    problem: Rejected | None = None  # what must never reach the parser


def sniff(head: bytes) -> Sniff:
    """Cheap look at the first bytes: module, version, encoding, envelope, and early refusals."""
    ns = _NPR_NS.search(head)
    module = ns.group(2).decode() if ns else None
    version = ns.group(1).decode().replace("_", ".") if ns else None
    m = _PROLOG_ENCODING.match(head.lstrip(b"\xef\xbb\xbf"))
    declared = m.group(1).decode("ascii") if m else "UTF-8"
    encoding = _ACCEPTED_ENCODINGS.get(declared.lower())
    first = _FIRST_ELEMENT.search(head)
    envelope = None
    if first is not None:
        root_tag = head[first.start() + 1 : first.start() + 80].split(maxsplit=1)[0].split(b">")[0]
        envelope = "MsgHead" if root_tag.split(b":")[-1] == b"MsgHead" else "Melding"

    def refused(cls: str, reason: str) -> Sniff:
        return Sniff(module, version, encoding or declared, envelope, Rejected(cls, reason))

    if not head.strip():
        return refused(faults.NOT_WELL_FORMED, "empty file")
    if head.startswith(_WIDE_STARTS):
        return refused(
            faults.ENCODING_ERROR,
            "the bytes are UTF-16 or UTF-32 (byte order mark or zero bytes), not UTF-8 or ISO-8859-1",
        )
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        line = head[: max(head.find(b"<!DOCTYPE"), head.find(b"<!ENTITY"))].count(b"\n") + 1
        return refused(faults.UNSAFE_XML, f"DOCTYPE/ENTITY declarations are not allowed (line {line})")
    if first is None:
        if len(head) >= SNIFF_BYTES:
            return refused(faults.UNSAFE_XML, f"no root element within the first {SNIFF_BYTES} bytes")
        return refused(faults.NOT_WELL_FORMED, "no XML element found")
    if module is None and len(head) >= SNIFF_BYTES:
        # What precedes the root beyond this (a DOCTYPE after a long comment, say) is never parsed.
        return refused(
            faults.UNSAFE_XML, f"no NPR namespace within the first {SNIFF_BYTES} bytes (prolog too long?)"
        )
    if encoding is None:
        return refused(faults.ENCODING_ERROR, f"declared encoding {declared!r} is not UTF-8 or ISO-8859-1")
    return Sniff(module, version, encoding, envelope)
