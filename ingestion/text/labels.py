"""Normalising indicator labels so rows are matched by meaning, not by typing.

Two keys are produced per label: ``full`` keeps the text of parenthetical
remarks (sometimes they carry meaning, e.g. "(cấp xã)"), ``short`` drops them.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_DROP_SUPERSCRIPTS = str.maketrans("", "", _SUPERSCRIPTS)
_TAGS = re.compile(r"<[^>]{0,40}>")
_SUP_TAG = re.compile(r"<sup>.*?</sup>", re.I)
_PARENS = re.compile(r"\([^()]*\)")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_LEADING_OF_WHICH = re.compile(r"^(trong do|trong so do)\b\s*")
_I_Y = re.compile(r"\b(qu|[tklmhs])y\b")

# Long forms that typists write out in some templates and abbreviate in others.
_ABBREVIATIONS = (
    ("don vi su nghiep cong lap", "dvsncl"),
    ("don vi sncl", "dvsncl"),
    ("don vi su nghiep", "dvsn"),
    ("thu tuc hanh chinh", "tthc"),
    ("van ban quy pham phap luat", "vbqppl"),
    ("cai cach hanh chinh", "cchc"),
    ("uy ban nhan dan", "ubnd"),
    ("hoi dong nhan dan", "hdnd"),
    ("phan anh kien nghi", "pakn"),
    ("dich vu cong", "dvc"),
    ("ngan sach nha nuoc", "nsnn"),
)


class LabelKey(NamedTuple):
    full: str
    short: str


@lru_cache(maxsize=262144)
def fold(text: str) -> str:
    """Lower-case ASCII folding of Vietnamese text: 'Đơn vị tính' -> 'don vi tinh'."""
    text = text.lower().replace("đ", "d")
    # Decomposed, the tone and vowel marks are combining characters; encoding to ASCII drops them.
    return unicodedata.normalize("NFD", text).encode("ascii", "ignore").decode("ascii")


def _words(text: str) -> str:
    text = " ".join(_NON_WORD.sub(" ", text).split())
    for long, short in _ABBREVIATIONS:
        if long in text:
            text = re.sub(rf"\b{long}\b", short, text)
    text = _I_Y.sub(r"\1i", text)  # "tỉ lệ" and "tỷ lệ", "kỉ luật" and "kỷ luật" are both in use
    words: list[str] = []
    for word in text.split():
        if not words or words[-1] != word:  # "đơn vị sự nghiệp công lập (ĐVSNCL)" says it twice
            words.append(word)
    return _LEADING_OF_WHICH.sub("", " ".join(words))


@lru_cache(maxsize=262144)
def clean_text(text: str) -> str:
    """Visible text of a cell: markup and footnote markers removed, whitespace folded."""
    if "<" in text:
        text = _TAGS.sub("", _SUP_TAG.sub("", text))
    return " ".join(text.translate(_DROP_SUPERSCRIPTS).split())


@lru_cache(maxsize=131072)
def label_key(label: str) -> LabelKey:
    folded = fold(clean_text(label))
    short = folded
    while True:  # nested parentheses: strip innermost first
        stripped = _PARENS.sub(" ", short)
        if stripped == short:
            break
        short = stripped
    short = short.replace("(", " ").replace(")", " ")
    return LabelKey(full=_words(folded), short=_words(short))


def is_parenthetical(label: str) -> bool:
    """A row whose whole label is a remark in parentheses continues the row above."""
    text = clean_text(label)
    return text.startswith("(") and text.endswith(")")
