"""The package checks every Office file passes (ingestion/workbook/ooxml.py), on any OOXML zip — a Word
document as well as a workbook — and the sheet extent measured from the cells (package.sheet_extent)."""
from __future__ import annotations

import codecs
import io
import zipfile

import pytest
from hostile_workbooks import lying_zip_bomb, pack

from ingestion.workbook.ooxml import UnreadableFile, checked_xml_part, open_ooxml
from ingestion.workbook.package import sheet_extent

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DOCX = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                           'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
    "word/document.xml": f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W}"><w:body><w:p><w:r>'
                         '<w:t>Báo cáo CCHC quý III năm 2026</w:t></w:r></w:p></w:body></w:document>',
}


def refusal(data: bytes) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as info:
        open_ooxml(data)
    return info.value


def test_a_word_document_passes_the_same_checks():
    pkg = open_ooxml(pack(DOCX))
    assert "Báo cáo CCHC".encode() in pkg.read_part("word/document.xml")
    rebuilt = zipfile.ZipFile(io.BytesIO(pkg.checked_zip()))
    assert rebuilt.testzip() is None and {n: rebuilt.read(n) for n in rebuilt.namelist()} == pkg.parts


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("bom", [True, False])
def test_a_dtd_in_a_word_document_is_refused_in_any_encoding(encoding, bom):
    text = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + \
        DOCX["word/document.xml"].split("?>", 1)[1]
    body = (codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE) * bom + text.encode(encoding)
    error = refusal(pack({**DOCX, "word/document.xml": body}))
    assert error.code == "xml_bomb" and "word/document.xml" in error.detail
    assert "DTD" not in error.message and "ENTITY" not in error.message


def test_utf16_parts_reach_readers_as_utf8_with_a_matching_declaration():
    text = '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>' + DOCX["word/document.xml"].split("?>", 1)[1]
    pkg = open_ooxml(pack({**DOCX, "word/document.xml": codecs.BOM_UTF16_LE + text.encode("utf-16-le")}))
    part = pkg.read_part("word/document.xml")
    assert part.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    assert "Báo cáo CCHC".encode() in part


@pytest.mark.parametrize("declared", ["UTF-7", "cp037", "utf-32"])
def test_encodings_readers_could_disagree_on_are_refused(declared):
    body = f'<?xml version="1.0" encoding="{declared}"?><a>+ADw-!DOCTYPE</a>'.encode()
    with pytest.raises(UnreadableFile) as info:
        checked_xml_part("x.xml", body, 1000)
    assert info.value.code == "bad_encoding"


def test_markup_hidden_behind_comments_and_blank_space_is_found():
    body = ("<?xml version='1.0'?>" + "<!-- -->\n" * 3000 + "<!DOCTYPE a [<!ENTITY b 'c'>]><a>&b;</a>").encode()
    with pytest.raises(UnreadableFile) as info:
        checked_xml_part("x.xml", body, 10 ** 6)
    assert info.value.code == "xml_bomb"
    checked_xml_part("x.xml", b"<?xml version='1.0'?><!-- only a comment --><a><![CDATA[x]]></a>", 100)


@pytest.mark.parametrize("prefix_crc", [True, False], ids=["crc_of_declared_bytes", "crc_of_everything"])
def test_a_zip_entry_that_inflates_past_its_declared_size_is_a_bomb(prefix_crc):
    error = refusal(lying_zip_bomb(DOCX, "word/document.xml", 50_000_000, prefix_crc=prefix_crc))
    assert error.code == "zip_bomb" and "nén" in error.message


def test_a_wrong_crc_is_a_damaged_file():
    data = bytearray(pack(DOCX))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("word/document.xml")
    # flip one byte of the stored CRC in the central directory entry of the part
    entry = bytes(data).index(b"word/document.xml", bytes(data).index(b"PK\x01\x02"))
    crc_at = entry - 46 + 16
    data[crc_at] ^= 0xFF
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("word/document.xml").CRC != info.CRC
    error = refusal(bytes(data))
    assert error.code == "corrupt_zip" and "bị hỏng" in error.message


@pytest.mark.parametrize("xml, extent", [
    (b'<sheetData><row r="1"><c r="A1"/><c r="XFD1048576"/></row></sheetData>', (1048576, 16384)),
    (b'<x:sheetData><x:row r="1"><x:c r="A1"/><x:c r="CV7"/></x:row></x:sheetData>', (7, 100)),
    (b'<sheetData><row><c/><c/><c/></row><row r="20"><c t="s"/></row></sheetData>', (20, 3)),
    (b'<sheetData><row r="5"><c s="1" r="B7"/><c/></row></sheetData>', (7, 3)),
    (b'<sheetData><row r="1048576"/></sheetData>', (0, 0)),
])
def test_sheet_extent_counts_every_cell_wherever_it_says_it_is(xml, extent):
    assert sheet_extent(xml) == extent
