"""argparse in Vietnamese: "cách dùng", "tham số vị trí", error messages, for every (sub)command.

argparse looks its texts up through gettext (``argparse._`` and ``argparse.ngettext``) when a
parser is built, its help formatted or an error raised. ``vietnamese()`` answers those look-ups
from the table below while the CLI builds and parses (messages it does not know stay English),
so any subcommand added to the parser gets the Vietnamese framing without doing anything.
"""
from __future__ import annotations

import argparse
import contextlib

MESSAGES = {
    "usage: ": "cách dùng: ",
    "positional arguments": "tham số vị trí",
    "options": "tùy chọn",
    "optional arguments": "tùy chọn",
    "subcommands": "lệnh con",
    "show this help message and exit": "hiện hướng dẫn này rồi thoát",
    "show program's version number and exit": "hiện phiên bản rồi thoát",
    " (default: %(default)s)": " (mặc định: %(default)s)",
    "%(prog)s: error: %(message)s\n": "%(prog)s: lỗi: %(message)s\n",
    "%(prog)s: warning: %(message)s\n": "%(prog)s: cảnh báo: %(message)s\n",
    "the following arguments are required: %s": "thiếu các tham số bắt buộc: %s",
    "unrecognized arguments: %s": "tham số không hợp lệ: %s",
    "argument %(argument_name)s: %(message)s": "tham số %(argument_name)s: %(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)": "giá trị %(value)r không hợp lệ (chọn một trong: %(choices)s)",
    "invalid %(type)s value: %(value)r": "giá trị %(value)r không hợp lệ (cần kiểu %(type)s)",
    "expected one argument": "cần một giá trị",
    "expected at most one argument": "cần nhiều nhất một giá trị",
    "expected at least one argument": "cần ít nhất một giá trị",
    "expected %s argument": "cần %s giá trị",
    "expected %s arguments": "cần %s giá trị",
    "not allowed with argument %s": "không dùng được cùng với %s",
    "one of the arguments %s is required": "cần một trong các tham số %s",
    "ambiguous option: %(option)s could match %(matches)s": "tùy chọn %(option)s không rõ: có thể là %(matches)s",
    "ignored explicit argument %r": "bỏ qua giá trị %r",
    "can't open '%(filename)s': %(error)s": "không mở được “%(filename)s”: %(error)s",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "không có lệnh %(parser_name)r (các lệnh: %(choices)s)",
}


def _translate(message: str) -> str:
    return MESSAGES.get(message, message)


def _ntranslate(singular: str, plural: str, n: int) -> str:
    return _translate(singular if n == 1 else plural)


@contextlib.contextmanager
def vietnamese(enabled: bool = True):
    """argparse's own texts in Vietnamese inside the block (restored afterwards)."""
    if not enabled:
        yield
        return
    saved = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = _translate, _ntranslate
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved
