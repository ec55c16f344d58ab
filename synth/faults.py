"""Turn a valid file into a rejected one of a given class (extract.model.faults vocabulary)."""

from __future__ import annotations

import random
import re

from extract.model import faults as F
from extract.model.messages import module_namespace

UNKNOWN_MODULE_NAME = "kpp"  # a real NPR module, but not one of ours: sent to the wrong channel
UNKNOWN_VERSION_NAME = "56.0.1"  # a sender two model versions behind


def _declared(data: bytes) -> str:
    m = re.match(rb'<\?xml[^>]*encoding="([^"]+)"', data)
    return m.group(1).decode() if m else "UTF-8"


def corrupt_file(data: bytes, reason: str, entry: dict, rng: random.Random) -> bytes:
    module, version = entry["module"], entry["version"]
    if reason == F.NOT_WELL_FORMED:
        # Transfer broke off: cut the file somewhere in its second half.
        return data[: max(60, int(len(data) * rng.uniform(0.5, 0.9)))]
    if reason == F.ENCODING_ERROR:
        declared = _declared(data)
        text = data.decode("iso-8859-1" if declared == "ISO-8859-1" else "utf-8")
        text = text.replace(f'encoding="{declared}"', 'encoding="UTF-8"', 1)
        # Latin-1 bytes (æøå in names) under a UTF-8 declaration.
        return text.encode("iso-8859-1", "xmlcharrefreplace")
    if reason == F.UNKNOWN_MODULE:
        return data.replace(
            module_namespace(module, version).encode(),
            module_namespace(UNKNOWN_MODULE_NAME, version).encode(),
        )
    if reason == F.UNKNOWN_VERSION:
        old, new = module_namespace(module, version), module_namespace(module, UNKNOWN_VERSION_NAME)
        data = data.replace(old.encode(), new.encode())
        return data.replace(f'versjon="{version}"'.encode(), f'versjon="{UNKNOWN_VERSION_NAME}"'.encode(), 1)
    if reason == F.SCHEMA_INVALID:
        # A required header attribute missing (lopenr).
        return re.sub(rb' lopenr="[^"]*"', b"", data, count=1)
    if reason == F.UNSAFE_XML:
        root = b"MsgHead" if b"<MsgHead" in data[:400] else b"Melding"
        dtd = (
            b"<!DOCTYPE "
            + root
            + b' [\n<!ENTITY a "aaaaaaaaaaaaaaaaaaaa">\n<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">\n'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">\n]>\n'
        )
        end = data.index(b"?>") + 2
        return data[:end] + b"\n" + dtd + data[end:].lstrip(b"\n")
    raise ValueError(f"unknown rejection class {reason!r}")
