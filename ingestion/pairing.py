"""A unit that sends both a spreadsheet and a Word report for the same quarter.

The spreadsheet's figures are used (it is the appendix typed for the data team); the
document is cross-checked against it, and each figure that disagrees is a warning naming
both files (rule document_matches_spreadsheet). Among files of the same format the
latest version wins, as for any re-sent file.

This is the one statement of the rule. The warehouse applies the same order through the
dbt macro ``submission_precedence`` (dbt_project/macros/submission_precedence.sql), the
offline engine through ``precedence_key``; tests hold the two to the same choice.
"""
from __future__ import annotations

SPREADSHEET, DOCUMENT = "xlsx", "docx"
# Lower comes first: what a unit-quarter's figures are taken from.
FORMAT_PRECEDENCE = {SPREADSHEET: 0, DOCUMENT: 1}


def format_rank(source_format: str | None) -> int:
    return FORMAT_PRECEDENCE.get(source_format or SPREADSHEET, 0)


def precedence_key(source_format: str | None, order: int) -> tuple[int, int]:
    """Sort key of the submissions of one unit-quarter: the last one is the unit-quarter's figures."""
    return -format_rank(source_format), order


def cross_checked(source_format: str | None, partner_format: str | None, partner_pending: bool) -> bool:
    """Which of a spreadsheet/document pair carries the comparison: the document, unless the document
    was checked on an earlier night and only the spreadsheet is new."""
    if source_format == partner_format:
        return False
    return source_format == DOCUMENT or not partner_pending
