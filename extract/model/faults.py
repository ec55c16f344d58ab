"""The vocabulary of bad input (docs/messages.md section 9), shared by generator, extractor and tests.

A *rejection* refuses the whole file (NPR rejects files that fail schema validation). A *finding*
is a record-level problem in a file that is loaded anyway; the record is kept and flagged.
"""

from __future__ import annotations

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

# Ledger statuses: every file that arrives ends in exactly one.
LOADED, REJECTED, DUPLICATE = "loaded", "rejected", "duplicate"
