"""Bad Word files through the command line: each refused with a Vietnamese message naming the file and the
cause, the good documents beside it still read. The container checks are the workbook's (package.py)."""
from __future__ import annotations

import io
import json
import random
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from msoffcrypto.format.ooxml import OOXMLFile
from seed_documents import build_document
from test_bad_inputs import check_bad as check_bad_file
from test_bad_inputs import run

from cchc_tools.demo.bad_files import legacy_doc, pdf_renamed
from ingestion.document.package import MAX_DOCUMENT_XML, MAX_TABLES
from ingestion.workbook.package import MAX_ROWS, WorkbookError
from ingestion.workbook.read import read_report_bytes

_BILLION_LAUGHS = ('<!DOCTYPE w:document [\n <!ENTITY lol "lol">\n'
                   + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                             for i in range(1, 10)) + "]>\n")


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("good")
    return (build_document("002", root / "LAMTHAO" / "2023-Q3" / "bao_cao.docx"),
            build_document("000", root / "KIMPHUONG" / "2024-Q1" / "bao_cao.docx"))


@pytest.fixture(scope="module")
def valid(good) -> bytes:
    return good[0].read_bytes()


def rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
          stored: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, (replace or {}).get(info.filename, src.read(info.filename)))
        for name, part in (add or {}).items():
            dst.writestr(name, part)
    return out.getvalue()


def document_with_body(valid: bytes, body_xml: str, stored: bool = False) -> bytes:
    """The valid document's package with another body (w:body content) in word/document.xml."""
    xml = zipfile.ZipFile(io.BytesIO(valid)).read("word/document.xml").decode()
    head, _, rest = xml.partition("<w:body>")
    _, _, tail = rest.partition("</w:body>")
    return rezip(valid, {"word/document.xml": (head + "<w:body>" + body_xml + "</w:body>" + tail).encode()}, stored=stored)


def refusal(data: bytes, name: str = "bao_cao.docx") -> WorkbookError:
    with pytest.raises(WorkbookError) as info:
        read_report_bytes(data, name=name)
    return info.value


def check_bad(good, tmp_path: Path, name: str, data: bytes, keywords: tuple[str, ...]) -> dict:
    """The workbooks' check: unreadable with the keywords, the good files around it read; for documents
    the good files are Word reports, and `cchc extract --json` names the file too."""
    entry = check_bad_file(good, tmp_path, name, data, keywords)
    ex = run("extract", str(tmp_path / "BADUNIT" / "2023-Q3" / name), "--json")
    assert str(tmp_path / "BADUNIT" / "2023-Q3" / name) in json.loads(ex.stdout)["errors"][0]["message"]
    return entry


def test_legacy_doc(good, tmp_path):
    data = legacy_doc()
    assert refusal(data, "bao_cao.doc").code == "legacy_doc"
    check_bad(good, tmp_path, "bao_cao.doc", data, ("Word định dạng cũ (.doc)", "lưu lại dưới dạng .docx"))


def test_encrypted_document(good, valid, tmp_path):
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(valid)).encrypt("Mật khẩu 2024", out)
    assert refusal(out.getvalue()).code == "password_protected"
    check_bad(good, tmp_path, "bao_cao.docx", out.getvalue(), ("đặt mật khẩu",))


def test_corrupt_zip(good, valid, tmp_path):
    data = valid[: len(valid) // 2]
    assert refusal(data).code == "corrupt_zip"
    check_bad(good, tmp_path, "bao_cao.docx", data, ("bị hỏng",))


def test_pdf_named_docx(good, tmp_path):
    error = refusal(pdf_renamed())
    assert (error.code, error.message) == ("not_docx", "tệp không phải .docx (PDF)")
    check_bad(good, tmp_path, "bao_cao.docx", pdf_renamed(), ("không phải .docx", "PDF"))


def test_macro_enabled_document(good, valid, tmp_path):
    types = zipfile.ZipFile(io.BytesIO(valid)).read("[Content_Types].xml").decode()
    types = types.replace("wordprocessingml.document.main+xml", "ms-word.document.macroEnabled.main+xml")
    assert "macroEnabled" in types
    docm = rezip(valid, {"[Content_Types].xml": types.encode()}, {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(508)})
    assert refusal(docm, "bao_cao.docm").code == "macro_document"
    # either sign is enough: the macro part alone, or the macro-enabled content type alone
    assert refusal(rezip(valid, add={"word/vbaProject.bin": b"\x00" * 64})).code == "macro_document"
    assert refusal(rezip(valid, {"[Content_Types].xml": types.encode()})).code == "macro_document"
    check_bad(good, tmp_path, "bao_cao.docm", docm, ("macro", ".docx"))


def test_document_without_any_table(good, tmp_path):
    doc = Document()
    doc.add_paragraph("BÁO CÁO")
    doc.add_paragraph("Kết quả thực hiện công tác cải cách hành chính quý III năm 2023")
    doc.add_paragraph("Đã giải quyết 7.045 hồ sơ, không có hồ sơ quá hạn.")
    out = io.BytesIO()
    doc.save(out)
    assert refusal(out.getvalue()).code == "no_appendix_table"
    check_bad(good, tmp_path, "bao_cao.docx", out.getvalue(), ("không có bảng nào", "phụ lục"))


def test_document_whose_tables_are_no_appendix(good, tmp_path):
    doc = Document()
    table = doc.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "ỦY BAN NHÂN DÂN\nHUYỆN LÂM THAO"
    table.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    doc.add_paragraph("Kết quả thực hiện công tác cải cách hành chính quý III năm 2023")
    out = io.BytesIO()
    doc.save(out)
    error = refusal(out.getvalue())
    assert error.code == "no_appendix_table" and "1 bảng" in error.message
    check_bad(good, tmp_path, "bao_cao.docx", out.getvalue(), ("không bảng nào là phụ lục",))


def test_xml_bomb_in_the_document_part(good, valid, tmp_path):
    xml = zipfile.ZipFile(io.BytesIO(valid)).read("word/document.xml").decode()
    declaration, _, rest = xml.partition("?>")
    bomb = (declaration + "?>\n" + _BILLION_LAUGHS + rest.lstrip()).encode()
    data = rezip(valid, {"word/document.xml": bomb})
    refused = refusal(data)
    assert refused.code == "xml_bomb" and "word/document.xml" in refused.detail  # the technical cause, for the log
    # the clerk reads a plain cause and how to re-save a Word file
    check_bad(good, tmp_path, "bao_cao.docx", data, ("không an toàn", "Tài liệu Word (.docx)"))


def test_xml_bomb_hidden_behind_a_long_comment_is_still_refused(valid):
    """The package check reads the head of each part; the parser itself refuses what comes later."""
    xml = zipfile.ZipFile(io.BytesIO(valid)).read("word/document.xml").decode()
    declaration, _, rest = xml.partition("?>")
    bomb = (declaration + "?>\n<!--" + "x" * 6000 + "-->\n" + _BILLION_LAUGHS + rest.lstrip()).encode()
    assert bomb.index(b"<!DOCTYPE") > 4096
    assert refusal(rezip(valid, {"word/document.xml": bomb})).code == "xml_bomb"


def test_huge_document_too_many_tables(good, valid, tmp_path):
    table = ('<w:tbl><w:tblGrid><w:gridCol/></w:tblGrid><w:tr><w:tc><w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc></w:tr>'
             '</w:tbl><w:p/>')
    data = document_with_body(valid, table * (MAX_TABLES + 1), stored=True)
    error = refusal(data)
    assert error.code == "too_large" and "quá nhiều bảng" in error.message
    check_bad(good, tmp_path, "bao_cao.docx", data, ("quá nhiều bảng",))


def test_huge_document_table_too_long(valid):
    row = "<w:tr><w:tc><w:p><w:r><w:t>1</w:t></w:r></w:p></w:tc></w:tr>"
    data = document_with_body(valid, "<w:tbl>" + row * (MAX_ROWS + 1) + "</w:tbl>", stored=True)
    error = refusal(data)
    assert error.code == "sheet_too_large" and re.search(rf"bảng 1 quá lớn \(hơn {MAX_ROWS} dòng\)", error.message)


def test_huge_document_refused_before_it_is_parsed(valid):
    """A document part far above any report's size is refused from its declared size, unread."""
    rng = random.Random(14)
    words = ["hồ", "sơ", "thủ", "tục", "giải", "quyết", "đúng", "hạn", "cấp", "xã", "huyện", "tỉnh"]
    paragraphs = ("<w:p><w:r><w:t>" + " ".join(rng.choice(words) + str(rng.randrange(1000)) for _ in range(300))
                  + "</w:t></w:r></w:p>" for _ in range(8000))
    data = document_with_body(valid, "".join(paragraphs))
    size = zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml").file_size
    assert size > MAX_DOCUMENT_XML and len(data) < 25 * 1024 * 1024  # under the file limit, over the part's
    error = refusal(data)
    assert error.code == "too_large" and "nội dung văn bản quá lớn" in error.message


def test_a_workbook_named_docx_is_read_as_a_workbook(tmp_path):
    from seed_workbooks import build

    data = build("002", tmp_path / "x.xlsx").read_bytes()
    ex = read_report_bytes(data, name="bao_cao.docx")
    assert ex.source_format == "xlsx" and len(ex.facts) == 117
