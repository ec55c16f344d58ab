"""Write NPR messages as text, strictly from the message model, streamed to disk.

Tags, attribute names (in the file's version spelling), attribute order and the allowed child
order all come from `extract.model.messages`; the writer refuses an attribute or child the model
does not have, or a required attribute that is missing. It counts every element per lake table,
which is what the truth manifest reports as `rows`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

from extract.model.messages import ROOT, attribute_name, module_namespace, walk
from extract.model.xsd import MSGHEAD_NS

_NEEDS_ESCAPE = re.compile(r'[&<>"\r\n\t]')
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)
_FLUSH_PARTS = 4096
ENH_OID = "2.16.578.1.12.4.1.1.9051"  # KITH code system for Enhetsregisteret identifiers


def escape_attr(value: str) -> str:
    return value.translate(_ESCAPES) if _NEEDS_ESCAPE.search(value) else value


class Spec:
    """The model, flattened for writing one module in one version."""

    def __init__(self, module: str, version: str):
        self.module, self.version = module, version
        self.namespace = module_namespace(module, version)
        self.tag: dict[str, str] = {}
        self.attrs: dict[str, tuple[tuple[str, str], ...]] = {}
        self.required: dict[str, frozenset[str]] = {}
        self.allowed: dict[str, frozenset[str]] = {}
        self.order: dict[str, dict[str, int]] = {}
        for el, _ in walk(module):
            if el.key in self.tag:
                continue
            self.tag[el.key] = el.tag
            self.attrs[el.key] = tuple((a.name, attribute_name(el.tag, a.name, version)) for a in el.attrs)
            self.required[el.key] = frozenset(a.name for a in el.attrs if a.is_required(module))
            self.allowed[el.key] = frozenset(a.name for a in el.attrs)
            self.order[el.key] = {c.element: i for i, c in enumerate(el.children_in(module))}


@functools.cache
def spec(module: str, version: str) -> Spec:
    return Spec(module, version)


class MessageWriter:
    """One file: prolog, optional MsgHead envelope, then the Melding tree element by element."""

    def __init__(self, path: Path, module: str, version: str, encoding: str, envelope: dict | None):
        self.path = path
        self.spec = spec(module, version)
        self.encoding = encoding
        self.codec = "iso-8859-1" if encoding == "ISO-8859-1" else "utf-8"
        self.envelope = envelope
        self.parts: list[str] = []
        self.stack: list[list] = []  # [key, last child index, has children]
        self.rows: dict[str, int] = {}
        self.sha = hashlib.sha256()
        self.size = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and moved into place at the end: an inbox never sees half a
        # file, and a file already there with the same bytes is left untouched (`--as-of` replays).
        self.tmp = path.with_name(path.name + ".part")
        self.fh = self.tmp.open("wb")
        self.parts.append(f'<?xml version="1.0" encoding="{encoding}"?>\n')
        if envelope is not None:
            self.parts.append(msghead_open(envelope))

    def open(self, key: str, values: dict[str, str], empty: bool = False) -> None:
        sp = self.spec
        if self.stack:
            parent = self.stack[-1]
            idx = sp.order[parent[0]].get(key)
            if idx is None or idx < parent[1]:
                raise ValueError(f"{key} not allowed here under {parent[0]} in {sp.module}")
            parent[1] = idx
            if not parent[2]:
                parent[2] = True
                self.parts.append(">\n")
        elif key != ROOT:
            raise ValueError(f"root must be {ROOT}")
        if not sp.required[key] <= values.keys() or not values.keys() <= sp.allowed[key]:
            missing = sp.required[key] - values.keys()
            extra = values.keys() - sp.allowed[key]
            raise ValueError(f"{key}: missing {sorted(missing)}, not in the model {sorted(extra)}")
        out = ["<", sp.tag[key]]
        if key == ROOT:
            out.append(f' xmlns="{sp.namespace}"')
        for name, spelled in sp.attrs[key]:
            v = values.get(name)
            if v is not None:
                out.append(f' {spelled}="{escape_attr(v)}"')
        self.parts.append("".join(out))
        self.rows[key] = self.rows.get(key, 0) + 1
        if empty:
            self.parts.append("/>\n")
        else:
            self.stack.append([key, 0, False])
        if len(self.parts) > _FLUSH_PARTS:
            self._flush()

    def leaf(self, key: str, values: dict[str, str]) -> None:
        self.open(key, values, empty=True)

    def close(self) -> None:
        key, _, has_children = self.stack.pop()
        self.parts.append(f"</{self.spec.tag[key]}>\n" if has_children else "/>\n")

    def _flush(self) -> None:
        data = "".join(self.parts).encode(self.codec, "xmlcharrefreplace")
        self.parts = []
        self.fh.write(data)
        self.sha.update(data)
        self.size += len(data)

    def finish(self) -> tuple[str, int, dict[str, int]]:
        while self.stack:
            self.close()
        if self.envelope is not None:
            self.parts.append(msghead_close())
        self._flush()
        self.fh.close()
        sha = self.sha.hexdigest()
        if _same(self.path, self.size, sha):
            self.tmp.unlink()
        else:
            os.replace(self.tmp, self.path)
        return sha, self.size, dict(self.rows)


def _same(path: Path, size: int, sha: str) -> bool:
    try:
        if path.stat().st_size != size:
            return False
    except FileNotFoundError:
        return False
    return hashlib.sha256(path.read_bytes()).hexdigest() == sha


def write_if_changed(path: Path, data: bytes) -> None:
    """Write `data` to `path` unless the file already holds exactly these bytes."""
    if not _same(path, len(data), hashlib.sha256(data).hexdigest()):
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def _org(name: str, orgnr: str) -> str:
    return (
        f"<Organisation><OrganisationName>{escape_attr(name)}</OrganisationName>"
        f"<Ident><Id>{orgnr}</Id>"
        f'<TypeId V="ENH" S="{ENH_OID}" DN="Organisasjonsnummeret i Enhetsregisteret"/>'
        "</Ident></Organisation>"
    )


def msghead_open(env: dict) -> str:
    """The KITH MsgHead 1.2 envelope up to RefDoc/Content (validated by the official MsgHead.xsd)."""
    return (
        f'<MsgHead xmlns="{MSGHEAD_NS}">\n<MsgInfo>'
        f'<Type V="{env["type"]}" DN="{escape_attr(env["type_dn"])}"/>'
        "<MIGversion>v1.2 2006-05-24</MIGversion>"
        f"<GenDate>{env['gen_date']}</GenDate><MsgId>{env['msg_id']}</MsgId>"
        f"<Sender>{_org(env['sender_name'], env['sender_orgnr'])}</Sender>"
        f"<Receiver>{_org(env['receiver_name'], env['receiver_orgnr'])}</Receiver>"
        "</MsgInfo>\n<Document><RefDoc>"
        '<MsgType V="XML" DN="XML-instans"/><MimeType>text/xml</MimeType><Content>\n'
    )


def msghead_close() -> str:
    return "</Content></RefDoc></Document>\n</MsgHead>\n"
