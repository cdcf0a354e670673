"""Hostile workbooks written from scratch, part by part, for the tests that attack the reader.

Nothing here goes through the project's writer: every part is XML text typed out below, so a
test can put a DTD in any part, re-encode a part as UTF-16, lie about a sheet's extent or a
zip entry's size, exactly as a hostile or broken producer would.
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from xml.sax.saxutils import escape

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# A commune's form 4 as a clerk types it: STT, label, unit, figure, note.
APPENDIX_ROWS = [
    ["STT", "Chỉ tiêu", "Đơn vị tính", "Số liệu", "Ghi chú"],
    [1, "Tổng số biên chế được giao trong năm", "Người", 25, None],
    [2, "Số văn bản chỉ đạo CCHC đã ban hành", "Văn bản", 3, None],
    [3, "Số nhiệm vụ đề ra trong kế hoạch", "Nhiệm vụ", 12, None],
    [4, "Số nhiệm vụ đã hoàn thành", "Nhiệm vụ", 9, None],
]


def _col(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell_xml(ref: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def sheet_data_xml(rows: list[list]) -> str:
    out = []
    for r, row in enumerate(rows, start=1):
        out.append(f'<row r="{r}">' + "".join(cell_xml(f"{_col(c)}{r}", v) for c, v in enumerate(row)) + "</row>")
    return "".join(out)


def sheet_xml(rows: list[list] | None = None, *, dimension: str | None = "auto", extra_rows: str = "",
              prolog: str = DECL) -> str:
    rows = APPENDIX_ROWS if rows is None else rows
    if dimension == "auto":
        dimension = f"A1:{_col(max(len(r) for r in rows) - 1)}{len(rows)}"
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'{prolog}<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">{dim}'
            f"<sheetData>{sheet_data_xml(rows)}{extra_rows}</sheetData></worksheet>")


STYLES = (DECL + f'<styleSheet xmlns="{NS_MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
          '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
          '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
          '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
          '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
          '</styleSheet>')


def workbook_parts(sheets: list[tuple[str, str]] | None = None, *, shared_strings: str | None = None,
                   sheet_paths: list[str] | None = None) -> dict[str, str | bytes]:
    """The parts of a minimal valid workbook; ``sheets`` = [(name, sheet xml)]."""
    sheets = sheets or [("Biểu mẫu 4", sheet_xml())]
    paths = sheet_paths or [f"worksheets/sheet{i}.xml" for i in range(1, len(sheets) + 1)]
    overrides = "".join(f'<Override PartName="/xl/{p}" ContentType="application/vnd.openxmlformats-officedocument.'
                        'spreadsheetml.worksheet+xml"/>' for p in paths)
    if shared_strings is not None:
        overrides += ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                      'officedocument.spreadsheetml.sharedStrings+xml"/>')
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        f'spreadsheetml.styles+xml"/>{overrides}</Types>',
        "_rels/.rels": DECL + f'<Relationships xmlns="{NS_PKG}"><Relationship Id="rId1" Type="{NS_REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": DECL + f'<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><sheets>'
        + "".join(f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
                  for i, (name, _) in enumerate(sheets, start=1)) + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": DECL + f'<Relationships xmlns="{NS_PKG}">'
        + "".join(f'<Relationship Id="rId{i}" Type="{NS_REL}/worksheet" Target="{p}"/>'
                  for i, p in enumerate(paths, start=1))
        + f'<Relationship Id="rId100" Type="{NS_REL}/styles" Target="styles.xml"/>'
        + (f'<Relationship Id="rId101" Type="{NS_REL}/sharedStrings" Target="sharedStrings.xml"/>'
           if shared_strings is not None else "") + "</Relationships>",
        "xl/styles.xml": STYLES,
    }
    for (_, xml), p in zip(sheets, paths):
        parts[f"xl/{p}"] = xml
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    return parts


def pack(parts: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in parts.items():
            zf.writestr(name, body.encode("utf-8") if isinstance(body, str) else body)
    return out.getvalue()


def workbook(**kw) -> bytes:
    return pack(workbook_parts(**kw))


def with_part(parts: dict[str, str | bytes], name: str, body: str | bytes) -> bytes:
    return pack({**parts, name: body})


# -- zip entries that lie --------------------------------------------------------------------------

def lying_zip_bomb(parts: dict[str, str | bytes], name: str, real_size: int, *, prefix_crc: bool = True) -> bytes:
    """The package with ``name`` replaced by ``real_size`` bytes whose zip entry declares 1 KiB.

    With ``prefix_crc`` the entry carries the CRC of the declared KiB (a reader that stops at the
    declared size sees nothing wrong); without, the CRC of everything.
    """
    payload = b"<x/>" + b" " * (real_size - 4)
    declared = payload[:1024]
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressed = comp.compress(payload) + comp.flush()
    out = io.BytesIO()
    central = []
    for part, body in list(parts.items()) + [(name, None)]:
        if part == name and body is not None:
            continue
        if body is None:
            data, size = compressed, len(declared)
            crc = zlib.crc32(declared if prefix_crc else payload)
        else:
            raw = body.encode("utf-8") if isinstance(body, str) else body
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            data, size, crc = c.compress(raw) + c.flush(), len(raw), zlib.crc32(raw)
        fname = part.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(fname), 0))
        out.write(fname)
        out.write(data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size,
                                   len(fname), 0, 0, 0, 0, 0, offset) + fname)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0))
    return out.getvalue()
