"""Checks every Office Open XML package (.xlsx, .docx) passes before any reader sees it.

``open_ooxml`` decompresses every part itself, with caps on the real (not the declared)
sizes, verifies each part's CRC, refuses markup declarations (DTD, entities: XML bombs and
external entities) in every part whatever its name or encoding, normalises every XML part
to UTF-8, and rebuilds the package from the checked parts (``checked_zip``). Readers are
given only that rebuilt package, so a zip entry that lies about its size, a duplicate entry
name or a part in an exotic encoding can never show a reader something that was not checked.

Nothing here knows about spreadsheets: the workbook layer (``package.py``) and the Word
reader call the same functions.
"""
from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

# Limits. A unit's report is a few dozen KB; these leave ample room.
MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_TOTAL_UNCOMPRESSED = 200 * 1024 * 1024
MAX_PART_UNCOMPRESSED = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200  # checked for parts above 1 MiB
MAX_PARTS = 2000

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# What a clerk reads when a package is refused; the technical cause goes to ``detail``.
# Each reader says it its own way (``package.RESAVE_XLSX``: "... bằng Excel ... .xlsx").
RESAVE = "hãy mở tệp bằng phần mềm đã tạo ra nó (Excel, Word), lưu lại đúng định dạng rồi gửi lại"
MESSAGES = {
    "corrupt_zip": "tệp bị hỏng, không giải nén được (có thể tệp chưa tải lên xong hoặc bị lỗi khi sao chép); " + RESAVE,
    "zip_bomb": "tệp nén có cấu trúc bất thường: khi giải nén lớn hơn rất nhiều so với kích thước tệp, "
                "nên hệ thống không mở tệp này để bảo vệ máy chủ; " + RESAVE,
    "xml_bomb": "tệp chứa nội dung không an toàn mà Excel và Word không bao giờ tạo ra "
                "(có thể tệp đã bị chỉnh sửa bằng công cụ khác), nên hệ thống không mở tệp này; " + RESAVE,
    "bad_encoding": "tệp có phần nội dung dùng bảng mã ký tự không đúng chuẩn của Excel và Word; " + RESAVE,
}

# A markup declaration: <!DOCTYPE, <!ENTITY, <!ELEMENT, <!ATTLIST, <!NOTATION ... (comments and
# CDATA sections are the only other things that start with "<!").
_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")
_XML_DECL = re.compile(rb"\A<\?xml\b[^>]*?\?>")
_DECLARED_ENCODING = re.compile(rb"""\bencoding\s*=\s*["']([A-Za-z0-9._-]*)["']""")
_BIG_COUNT = re.compile(rb'ount\s*=\s*"(\d{7,})"')  # count="…", uniqueCount="…"
# Encodings an OOXML part may declare (ECMA-376 allows UTF-8 and UTF-16; the rest are
# single-byte, ASCII-compatible ones some producers write). Anything else is refused.
_SAFE_ENCODINGS = {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "ascii", "latin-1", "iso8859-1", "cp1252"}
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_STARTS_LIKE_XML = re.compile(rb"[ \t\r\n]*<")


class UnreadableFile(Exception):
    """A file that cannot be read. ``code`` is stable; ``message`` is for people (Vietnamese, no
    jargon, no exception text); ``detail`` is the technical cause for the log and the audit trail."""

    def __init__(self, code: str, message: str, detail: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail

    def __reduce__(self):  # crosses process boundaries (worker -> parent) intact
        return type(self), (self.code, self.message, self.detail)


def refuse(code: str, detail: str | None = None, message: str | None = None) -> UnreadableFile:
    return UnreadableFile(code, message or MESSAGES[code], detail)


@dataclass
class OoxmlPackage:
    """A checked package: every part decompressed (XML parts as UTF-8), nothing else trusted."""
    data: bytes  # the file's bytes as read (hashed by the caller)
    parts: dict[str, bytes] = field(default_factory=dict)  # in the order of the archive
    _rebuilt: bytes | None = field(default=None, repr=False)

    def read_part(self, name: str) -> bytes:
        return self.parts[name]

    def __contains__(self, name: str) -> bool:
        return name in self.parts

    @property
    def uncompressed_size(self) -> int:
        return sum(len(p) for p in self.parts.values())

    def checked_zip(self) -> bytes:
        """The package rebuilt from the checked parts (stored, not compressed): what readers get."""
        if self._rebuilt is None:
            self._rebuilt = stored_zip(self.parts)
        return self._rebuilt


_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
_END_RECORD = struct.Struct("<IHHHHIIH")
_DOS_1980 = (0, 33)  # 00:00:00, 1 January 1980


def stored_zip(parts: dict[str, bytes]) -> bytes:
    """A plain zip (no compression, no extras) of ``parts``, written directly: it runs once per
    file read, and zipfile's writer costs more than everything else the package check does."""
    chunks, central, offset = [], [], 0
    for name, body in parts.items():
        fname = name.encode("utf-8")
        flags = 0x800 if not fname.isascii() else 0
        crc = zlib.crc32(body)
        header = _LOCAL_HEADER.pack(0x04034B50, 20, flags, 0, *_DOS_1980, crc, len(body), len(body), len(fname), 0)
        central.append(_CENTRAL_HEADER.pack(0x02014B50, 20, 20, flags, 0, *_DOS_1980, crc, len(body), len(body),
                                            len(fname), 0, 0, 0, 0, 0, offset) + fname)
        chunks += [header, fname, body]
        offset += len(header) + len(fname) + len(body)
    directory = b"".join(central)
    end = _END_RECORD.pack(0x06054B50, 0, 0, len(central), len(central), len(directory), offset, 0)
    return b"".join(chunks) + directory + end


def open_ooxml(data: bytes) -> OoxmlPackage:
    """Decompress and check every part of a zip package, or raise UnreadableFile."""
    if not data.startswith(b"PK"):
        raise refuse("corrupt_zip", "not a zip archive")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise refuse("corrupt_zip", f"{type(exc).__name__}: {exc}") from exc
    if len(infos) > MAX_PARTS:
        raise refuse("zip_bomb", f"{len(infos)} entries (limit {MAX_PARTS})")
    pkg = OoxmlPackage(data)
    total = 0
    for info in infos:
        name = info.filename
        if info.is_dir():
            continue
        if name in pkg.parts:
            raise refuse("corrupt_zip", f"duplicate entry {name!r}")
        if info.file_size > MAX_PART_UNCOMPRESSED:
            raise refuse("zip_bomb", f"{name}: declares {info.file_size} bytes (limit {MAX_PART_UNCOMPRESSED})")
        if info.file_size > 1048576 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise refuse("zip_bomb", f"{name}: compression ratio {info.file_size / max(info.compress_size, 1):.0f}")
        body = _inflate(data, info)
        total += len(body)
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise refuse("zip_bomb", f"more than {MAX_TOTAL_UNCOMPRESSED} bytes uncompressed")
        pkg.parts[name] = body
    for name, body in pkg.parts.items():
        pkg.parts[name] = checked_xml_part(name, body, total)
    return pkg


_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")


def _inflate(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A part's bytes, decompressed here rather than by zipfile, to see what the entry really holds.

    zipfile trusts the declared size: it stops there, and a deflate stream that goes on (a zip
    bomb whose entry lies about its size, with the CRC of what it declares) would pass. Here
    the stream may yield at most one byte more than declared, must end exactly there, and
    must match its CRC.
    """
    name = info.filename
    if info.flag_bits & 0x1:
        raise refuse("corrupt_zip", f"{name}: encrypted entry")
    offset = info.header_offset
    header = data[offset:offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise refuse("corrupt_zip", f"{name}: no local header at {offset}")
    name_len, extra_len = _LOCAL_HEADER.unpack(header)[9:11]
    start = offset + _LOCAL_HEADER.size
    if data[start:start + name_len] != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437"):
        raise refuse("corrupt_zip", f"{name}: local header names another file")
    start += name_len + extra_len
    compressed = data[start:start + info.compress_size]
    if len(compressed) != info.compress_size:
        raise refuse("corrupt_zip", f"{name}: truncated ({len(compressed)} of {info.compress_size} bytes)")
    if info.compress_type == zipfile.ZIP_STORED:
        body = compressed
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            body = inflater.decompress(compressed, info.file_size + 1)
        except zlib.error as exc:
            raise refuse("corrupt_zip", f"{name}: {exc}") from exc
        if len(body) > info.file_size:
            raise refuse("zip_bomb", f"{name}: inflates beyond its declared {info.file_size} bytes")
        if not inflater.eof:
            raise refuse("corrupt_zip", f"{name}: deflate stream does not end")
    else:
        raise refuse("corrupt_zip", f"{name}: compression method {info.compress_type}")
    if len(body) != info.file_size:
        raise refuse("corrupt_zip", f"{name}: {len(body)} bytes, {info.file_size} declared")
    if zlib.crc32(body) != info.CRC:
        raise refuse("corrupt_zip", f"{name}: CRC mismatch")
    return body


def xml_encoding(body: bytes) -> tuple[str | None, int]:
    """The encoding an XML parser would read ``body`` in and the length of its byte-order mark.

    (None, 0) when the bytes do not start like XML in any encoding a parser detects.
    """
    if body.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32", 4
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if body.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if body.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    head = body[:2]
    if len(head) == 2 and head[0] and not head[1]:
        return "utf-16-le", 0  # no BOM: '<' or whitespace followed by a zero byte
    if len(head) == 2 and not head[0] and head[1]:
        return "utf-16-be", 0
    if _STARTS_LIKE_XML.match(body):
        return "utf-8", 0
    return None, 0


def checked_xml_part(name: str, body: bytes, package_size: int) -> bytes:
    """An XML part as UTF-8 without markup declarations; other parts unchanged.

    Raises UnreadableFile for a DTD or entity anywhere in the part, an encoding outside
    UTF-8/UTF-16 (and a few single-byte ones), NUL characters, or a count attribute no
    honest package of this size can have (readers reserve memory from them).
    """
    encoding, bom = xml_encoding(body)
    if encoding is None:
        if name.lower().endswith(_XML_SUFFIXES) and body.strip():
            raise refuse("bad_encoding", f"{name}: not XML in any supported encoding (starts {body[:8]!r})")
        return body  # images, printer settings, embedded binaries: no reader parses them as XML
    if encoding == "utf-32":
        raise refuse("bad_encoding", f"{name}: UTF-32")
    transcoded = False
    if encoding.startswith("utf-16"):
        try:
            text = body[bom:].decode(encoding)
        except UnicodeDecodeError as exc:
            raise refuse("bad_encoding", f"{name}: invalid {encoding}: {exc}") from exc
        utf8, transcoded = text.encode("utf-8"), True
    else:
        utf8 = body[bom:]
        declared = _declared_encoding(utf8)
        if declared not in (None, "utf-8"):
            if declared not in _SAFE_ENCODINGS or declared.startswith("utf-16"):
                raise refuse("bad_encoding", f"{name}: declares encoding {declared!r}")
            try:
                utf8, transcoded = utf8.decode(declared).encode("utf-8"), True
            except UnicodeDecodeError as exc:
                raise refuse("bad_encoding", f"{name}: invalid {declared}: {exc}") from exc
    if b"\x00" in utf8:
        raise refuse("bad_encoding", f"{name}: NUL characters")
    m = _DECLARATION.search(utf8)
    if m is not None:
        raise refuse("xml_bomb", f"{name}: markup declaration {utf8[m.start():m.start() + 40]!r} at byte {m.start()} "
                                 f"(encoding {encoding}{', BOM' if bom else ''})")
    for count in _BIG_COUNT.finditer(utf8):
        if int(count.group(1)) > package_size:
            raise refuse("xml_bomb", f"{name}: {count.group(0).decode()} in a package of {package_size} bytes")
    if transcoded:  # the declaration must now say what the bytes are
        utf8 = _XML_DECL.sub(lambda d: _DECLARED_ENCODING.sub(b'encoding="UTF-8"', d.group(0)), utf8, count=1)
    return utf8


def _declared_encoding(utf8: bytes) -> str | None:
    decl = _XML_DECL.match(utf8)
    if decl is None:
        return None
    enc = _DECLARED_ENCODING.search(decl.group(0))
    if enc is None:
        return None
    try:
        return codecs.lookup(enc.group(1).decode("ascii")).name
    except LookupError:
        return enc.group(1).decode("ascii", "replace").lower() or None
