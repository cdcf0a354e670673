"""What the commands print cannot drive the terminal that shows it.

Cells, sheet names and file names come from units' files: an ESC sequence in a label
would recolour, retitle or rewrite the operator's terminal, a bidirectional override
would reorder what it shows. Every line the CLI prints goes through ``sanitize``:
control characters are dropped (tab and line feed stay), C1 controls and direction
overrides become visible ``\\uXXXX`` escapes — inside JSON strings that is the same text.
"""
from __future__ import annotations

import io
import re

_DROP = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_ESCAPE = re.compile("[\u0080-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def sanitize(text: str) -> str:
    text = text.translate(_DROP)
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class SanitizedStream(io.TextIOBase):
    """A text stream that writes everything through ``sanitize``."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(sanitize(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self):
        return getattr(self._stream, "encoding", "utf-8")

    @property
    def buffer(self):
        return self._stream.buffer
