"""The vocabulary of bad input (docs/messages.md section 9), shared by generator, extractor and tests.

A *rejection* refuses the whole file (NPR rejects files that fail schema validation): `Rejected`.
A *finding* is a record-level problem in a file that is loaded anyway; the record is kept and
flagged: a `Finding` row. The detail texts of the checks that span records are format strings
here, filled in by the reader (`str.format`) and turned into SQL by `extract.crosscheck`, so a
file read whole and a file read in pieces give the same text.
"""

from __future__ import annotations

import re

# Whole-file rejections: ledger status `rejected`, `reason_class` one of these.
NOT_WELL_FORMED = "not_well_formed"  # incl. truncated, empty, non-XML
ENCODING_ERROR = "encoding_error"  # bytes do not match the declared encoding
UNKNOWN_MODULE = "unknown_module"  # namespace is not one of str/raa/rad/ord/ide
UNKNOWN_VERSION = "unknown_version"  # version other than 58.0.1 / 57.0.1
SCHEMA_INVALID = "schema_invalid"  # fails the module/version XSD
UNSAFE_XML = "unsafe_xml"  # DTD/entity declarations, XML bombs, oversized attributes

REJECTION_CLASSES: tuple[str, ...] = (
    NOT_WELL_FORMED,
    ENCODING_ERROR,
    UNKNOWN_MODULE,
    UNKNOWN_VERSION,
    SCHEMA_INVALID,
    UNSAFE_XML,
)

# Record-level findings: the file is loaded, each problem is a row in the findings table.
DANGLING_REFERENCE = "dangling_reference"  # -> Episode, Utstyr, Enhet, Referansevolum missing
DUPLICATE_KEY = "duplicate_key"  # same episodeID / utstyrID twice in one file
NEGATIVE_DOSE = "negative_dose"
IMPLAUSIBLE_DOSE = "implausible_dose"
UNKNOWN_UNIT = "unknown_unit"
UNKNOWN_CODE = "unknown_code"
INVALID_FODSELSNUMMER = "invalid_fodselsnummer"

FINDING_CLASSES: tuple[str, ...] = (
    DANGLING_REFERENCE,
    DUPLICATE_KEY,
    NEGATIVE_DOSE,
    IMPLAUSIBLE_DOSE,
    UNKNOWN_UNIT,
    UNKNOWN_CODE,
    INVALID_FODSELSNUMMER,
)
# A valid fødselsnummer sent in a field other than `fid` (pasientNr, pid, an id, free text): the
# value is replaced by its pseudonym wherever it is stored, and the record gets this finding. The
# extractor's guard, not a planted fault: the generator does not make it (so not in the tuple above).
FODSELSNUMMER_IN_FIELD = "fodselsnummer_in_field"
GUARD_CLASSES: tuple[str, ...] = (FODSELSNUMMER_IN_FIELD,)
# Found across files by the warehouse, not by the extractor (dbt model int_episode_id_reuses): an
# episode id that comes back for another patient or period (docs/messages.md section 8).
EPISODE_ID_REUSED = "episode_id_reused"
WAREHOUSE_CLASSES: tuple[str, ...] = (EPISODE_ID_REUSED,)

# Ledger statuses: every file that arrives ends in exactly one. `duplicate`: the same bytes as a
# *loaded* file (never as a rejected or duplicate one).
LOADED, REJECTED, DUPLICATE = "loaded", "rejected", "duplicate"

# Inbox entries that are not read (no ledger row, so looked at again by the next ingest): the reason
# is recorded in the lake's scan record (`extract.lake.write_scan`), not in the ledger.
SKIP_NOT_REGULAR = "not a regular file"
SKIP_LINK_OUTSIDE = "symbolic link leading out of the inbox (not followed)"
SKIP_DANGLING_LINK = "dangling symbolic link"
SKIP_LINK_LOOP = "symbolic link loop"
SKIP_UNREADABLE = "unreadable"
SKIP_VANISHED = "deleted before it was read"
SKIP_CHANGING = "still being written (size or modification time changed while it was read)"
SKIP_UNSETTLED = "modified within the settle interval"
SKIP_TWIN_NOT_READ = "the same bytes under another path were not read either"

# Any run of 11 or more digits, also when quotes, spaces or punctuation break it (123'45678901):
# a fødselsnummer never reaches a reason (or any other text the extractor writes) through it.
_DIGIT_RUN = re.compile(r"\d(?:[^\w\n]{0,3}\d){10,}")
REDACTED = "(digits not shown)"


def redact(text: str) -> str:
    """`text` with every run of 11+ digits (separators allowed between them) replaced."""
    return _DIGIT_RUN.sub(REDACTED, text) if text else text


class Rejected(Exception):
    """The whole file is refused; `reason_class` is one of `REJECTION_CLASSES`."""

    def __init__(self, reason_class: str, reason: str):
        reason = redact(reason)  # the one place every rejection reason passes
        super().__init__(reason_class, reason)  # both in args, so it pickles across processes
        self.reason_class = reason_class
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason_class}: {self.reason}"


# (table, record_no, record key, finding class, detail)
Finding = tuple[str, int, str, str, str]

# Detail texts of the checks across records; the field names are the lake columns they come from.
DUPLICATE_EPISODE = "episodeID={episodeID} occurs twice in the institution"
DUPLICATE_EQUIPMENT = "utstyrID={utstyrID} occurs twice"
DANGLING_EPISODE = "episodeID={episodeID} is no Episode in the file"
DANGLING_EQUIPMENT = "refUtstyr={refUtstyr} is no Utstyr in the file"
