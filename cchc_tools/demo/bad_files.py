"""Broken or wrong files of the kinds units really send, for the demo inbox and tests.

Every function returns the file's bytes. Nothing here needs more than the
standard library: the OLE2 containers (old .xls, password-protected .xlsx) are
built by hand with ``cfb_container``.
"""
from __future__ import annotations

import base64
import hashlib
import struct

from ingestion.workbook.writer import Sheet, workbook_bytes, workbook_parts, zip_parts

__all__ = ["cfb_container", "truncated_zip", "legacy_xls", "password_protected", "xml_bomb",
           "pdf_renamed", "docx_renamed", "empty_workbook", "huge_sheet", "legacy_doc"]

# -- Compound File Binary (OLE2), [MS-CFB] version 3 ------------------------------------------

_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096        # streams shorter than this live in the mini stream
_FREESECT = 0xFFFFFFFF
_ENDOFCHAIN = 0xFFFFFFFE
_FATSECT = 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _sectors(n_bytes: int, size: int = _SECTOR) -> int:
    return -(-n_bytes // size)


def _pad(data: bytes, size: int) -> bytes:
    return data + b"\0" * (-len(data) % size)


def _dir_entry(name: str, kind: int, color: int, left: int, right: int, child: int, start: int, size: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    return struct.pack("<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, color, left, right, child,
                       b"\0" * 16, 0, 0, 0, start, size)


def _sibling_tree(ids: list[int], names: list[str]) -> tuple[int, dict[int, tuple[int, int, int]]]:
    """A valid red-black tree over the root's children: balanced, deepest partial level red.

    Returns the tree's root id and, per id, (left, right, color) with color 0 = red, 1 = black.
    """
    # [MS-CFB] orders siblings by name length first, then by upper-cased name.
    order = sorted(ids, key=lambda i: (len(names[i]), names[i].upper()))
    links: dict[int, tuple[int, int, int]] = {}
    depth_of: dict[int, int] = {}

    def build(lo: int, hi: int, depth: int) -> int:
        if lo >= hi:
            return _NOSTREAM
        mid = (lo + hi) // 2
        node = order[mid]
        depth_of[node] = depth
        links[node] = (build(lo, mid, depth + 1), build(mid + 1, hi, depth + 1), 1)
        return node

    root = build(0, len(order), 0)
    if order:
        deepest = max(depth_of.values())
        if len(order) != 2 ** (deepest + 1) - 1:  # an incomplete last level: its nodes turn red
            for node, depth in depth_of.items():
                if depth == deepest:
                    left, right, _ = links[node]
                    links[node] = (left, right, 0)
    return root, links


def cfb_container(streams: dict[str, bytes]) -> bytes:
    """An OLE2 compound file holding ``streams`` directly under the root storage.

    Layout: header, FAT, mini FAT, directory, mini stream, then the large streams.
    Streams under 4096 bytes go to the mini stream as the format requires.
    """
    names = ["Root Entry", *streams]
    for name in streams:
        if not name or len(name) > 31 or any(ch in name for ch in "/\\:!"):
            raise ValueError(f"invalid stream name {name!r}")
    datas = list(streams.values())

    mini = bytearray()
    mini_fat: list[int] = []
    placement: list[tuple[bool, int]] = []  # (in mini stream, index of first sector in its area)
    for data in datas:
        if len(data) < _MINI_CUTOFF:
            first = len(mini_fat)
            n = _sectors(len(data), _MINI_SECTOR)
            mini_fat.extend(range(first + 1, first + n))
            if n:
                mini_fat.append(_ENDOFCHAIN)
            mini += _pad(data, _MINI_SECTOR)
            placement.append((True, first if n else _ENDOFCHAIN))
        else:
            placement.append((False, -1))

    n_minifat = _sectors(len(mini_fat) * 4)
    n_dir = _sectors(len(names) * 128)
    n_mini = _sectors(len(mini))
    n_big = [(_sectors(len(d)) if not placement[i][0] else 0) for i, d in enumerate(datas)]
    n_data = n_minifat + n_dir + n_mini + sum(n_big)
    n_fat = 1
    while n_fat * (_SECTOR // 4) < n_fat + n_data:
        n_fat += 1
    if n_fat > 109:
        raise ValueError("container too large for a header-only DIFAT")

    fat: list[int] = [_FATSECT] * n_fat

    def chain(count: int) -> int:
        if not count:
            return _ENDOFCHAIN
        first = len(fat)
        fat.extend(range(first + 1, first + count))
        fat.append(_ENDOFCHAIN)
        return first

    minifat_start = chain(n_minifat)
    dir_start = chain(n_dir)
    mini_start = chain(n_mini)
    big_starts = [chain(n) for n in n_big]
    fat.extend([_FREESECT] * (n_fat * (_SECTOR // 4) - len(fat)))

    tree_root, links = _sibling_tree(list(range(1, len(names))), names)
    entries = [_dir_entry("Root Entry", 5, 1, _NOSTREAM, _NOSTREAM, tree_root,
                          mini_start if n_mini else _ENDOFCHAIN, len(mini))]
    for i, data in enumerate(datas, start=1):
        in_mini, first = placement[i - 1]
        start = first if in_mini else big_starts[i - 1]
        left, right, color = links[i]
        entries.append(_dir_entry(names[i], 2, color, left, right, _NOSTREAM, start, len(data)))
    while len(entries) % (_SECTOR // 128):
        entries.append(_dir_entry("", 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, 0, 0))

    difat = list(range(n_fat)) + [_FREESECT] * (109 - n_fat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII109I",
        _CFB_MAGIC, b"\0" * 16, 0x003E, 0x0003, 0xFFFE, 9, 6, b"\0" * 6,
        0,                      # directory sectors: always 0 in version 3
        n_fat, dir_start, 0, _MINI_CUTOFF,
        minifat_start, n_minifat,
        _ENDOFCHAIN, 0,         # no DIFAT sectors
        *difat,
    )
    out = bytearray(header)
    out += struct.pack(f"<{len(fat)}I", *fat)
    # Unused mini FAT entries must read as free, not as "next sector 0".
    mini_fat.extend([_FREESECT] * (n_minifat * (_SECTOR // 4) - len(mini_fat)))
    out += struct.pack(f"<{len(mini_fat)}I", *mini_fat)
    out += b"".join(entries)
    out += _pad(bytes(mini), _SECTOR)
    for i, data in enumerate(datas):
        if not placement[i][0]:
            out += _pad(data, _SECTOR)
    return bytes(out)


# -- the files ----------------------------------------------------------------------------------

def truncated_zip(valid: bytes) -> bytes:
    """A corrupted .xlsx: the first half of a valid one, as an interrupted upload or e-mail leaves it."""
    return valid[: len(valid) // 2]


def _biff_record(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(payload)) + payload


def legacy_xls() -> bytes:
    """An Excel 97-2003 .xls: an OLE2 container whose "Workbook" stream is a minimal BIFF8 globals block."""
    # BOF (BIFF8, workbook globals), CODEPAGE 1200 (UTF-16), EOF.
    workbook = (_biff_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x0006))
                + _biff_record(0x0042, struct.pack("<H", 1200))
                + _biff_record(0x000A))
    return cfb_container({"Workbook": workbook})


def legacy_doc() -> bytes:
    """A Word 97-2003 .doc: an OLE2 container with a "WordDocument" stream opening with its FIB header."""
    # FIB base: wIdent 0xA5EC (Word 8), nFib 0x00C1, no flags (not encrypted); the rest zero-filled.
    fib = struct.pack("<HHHHH", 0xA5EC, 0x00C1, 0, 0x0409, 0) + bytes(32 - 10)
    return cfb_container({"WordDocument": fib + bytes(1024), "1Table": bytes(512)})


def _keystream(seed: bytes, n: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(seed + counter.to_bytes(8, "little")).digest()
        counter += 1
    return bytes(out[:n])


def _placeholder_b64(label: str, n: int) -> str:
    return base64.b64encode(_keystream(label.encode(), n)).decode()


def _agile_encryption_info() -> bytes:
    """An EncryptionInfo stream shaped like Excel's (agile, AES-256/SHA-512) with made-up key material."""
    cipher = 'blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"'
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        '<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" '
        'xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password" '
        'xmlns:c="http://schemas.microsoft.com/office/2006/keyEncryptor/certificate">'
        f'<keyData saltSize="16" {cipher} saltValue="{_placeholder_b64("keyData", 16)}"/>'
        f'<dataIntegrity encryptedHmacKey="{_placeholder_b64("hmacKey", 64)}" '
        f'encryptedHmacValue="{_placeholder_b64("hmacValue", 64)}"/>'
        '<keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password">'
        f'<p:encryptedKey spinCount="100000" saltSize="16" {cipher} saltValue="{_placeholder_b64("salt", 16)}" '
        f'encryptedVerifierHashInput="{_placeholder_b64("verifierInput", 16)}" '
        f'encryptedVerifierHashValue="{_placeholder_b64("verifierValue", 64)}" '
        f'encryptedKeyValue="{_placeholder_b64("keyValue", 32)}"/>'
        "</keyEncryptor></keyEncryptors></encryption>"
    )
    return struct.pack("<HHI", 4, 4, 0x40) + xml.encode()  # version 4.4 = agile; 0x40 = fAgile


def password_protected(valid: bytes) -> bytes:
    """A password-protected .xlsx as Excel saves it: OLE2 with "EncryptionInfo" and "EncryptedPackage" streams.

    The stream contents are placeholders (an agile-encryption descriptor with
    made-up keys, and the package scrambled with a hash keystream): nothing can
    decrypt them, but the container and stream names are what a real encrypted
    workbook shows.
    """
    body = _pad(valid, 16)  # AES works in 16-byte blocks, so the real stream is padded too
    key = _keystream(b"EncryptedPackage", len(body))
    scrambled = (int.from_bytes(body, "little") ^ int.from_bytes(key, "little")).to_bytes(len(body), "little")
    package = struct.pack("<Q", len(valid)) + scrambled  # the real stream also starts with the plain size
    return cfb_container({"EncryptionInfo": _agile_encryption_info(), "EncryptedPackage": package})


# "Billion laughs": ten levels of ten-fold entity expansion, ~3 GB if a parser expanded it.
_BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<!DOCTYPE sst [\n'
    ' <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
    "<si><t>&lol9;</t></si></sst>"
)


def xml_bomb() -> bytes:
    """A valid-looking .xlsx whose xl/sharedStrings.xml opens with a "billion laughs" DTD."""
    parts = workbook_parts([Sheet("Phụ lục", [["Chỉ tiêu"]])])
    parts = [(name, _BILLION_LAUGHS.encode() if name == "xl/sharedStrings.xml" else data) for name, data in parts]
    return zip_parts(parts)


def pdf_renamed() -> bytes:
    """A one-page PDF saved with an .xlsx name (units sometimes send the printed report)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,  # content stream, below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    text = b"BT /F1 14 Tf 72 770 Td (Bao cao CCHC) Tj ET"
    objects[3] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def docx_renamed() -> bytes:
    """A Word .docx (a zip with word/document.xml and no xl/workbook.xml) sent in place of the workbook."""
    parts = [
        ("[Content_Types].xml",
         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
         '<Default Extension="xml" ContentType="application/xml"/>'
         '<Override PartName="/word/document.xml" '
         'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
         "</Types>"),
        ("_rels/.rels",
         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="word/document.xml"/></Relationships>'),
        ("word/document.xml",
         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
         "<w:p><w:r><w:t>BÁO CÁO Công tác cải cách hành chính quý I năm 2024</w:t></w:r></w:p>"
         "</w:body></w:document>"),
    ]
    return zip_parts([(name, text.encode("utf-8")) for name, text in parts])


def empty_workbook() -> bytes:
    """A valid .xlsx with one sheet and no cells (a blank template sent back)."""
    return workbook_bytes([Sheet("Sheet1", [])])


def huge_sheet(rows: int = 20000, *, dimension: bool = True) -> bytes:
    """A valid .xlsx whose sheet has ``rows`` rows, more than the reader allows (a pasted data dump).

    ``dimension=False`` drops the <dimension> element, as some non-Excel writers
    do, so only the cell readers can notice the size.
    """
    parts = workbook_parts([Sheet("Dữ liệu", [[i, f"hồ sơ {i}"] for i in range(1, rows + 1)])])
    if not dimension:
        parts = [(name, _drop_dimension(body) if name.startswith("xl/worksheets/") else body) for name, body in parts]
    return zip_parts(parts)


def _drop_dimension(xml: bytes) -> bytes:
    start = xml.index(b"<dimension ")
    return xml[:start] + xml[xml.index(b"/>", start) + 2:]
