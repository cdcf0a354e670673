"""Broken inputs from cchc_tools.demo.bad_files, each refused by open_package with the right code."""
from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile

import msoffcrypto
import olefile
import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from cchc_tools.demo import bad_files
from cchc_tools.demo.bad_files import (
    _sibling_tree, cfb_container, docx_renamed, empty_workbook, huge_sheet, legacy_xls, password_protected,
    pdf_renamed, truncated_zip, xml_bomb,
)
from ingestion.workbook.writer import Sheet, workbook_bytes, workbook_parts, zip_parts
from ingestion.workbook.ooxml import open_ooxml
from ingestion.workbook.package import MAX_ROWS, WorkbookError, XlsxPackage, _sheet_parts, open_package
from ingestion.workbook.reader import ENGINES, read_grids

ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")


@pytest.fixture(scope="module")
def valid() -> bytes:
    # Above 4 KiB: msoffcrypto-tool 6.1 cannot decrypt its own output for smaller packages.
    return workbook_bytes([Sheet("Phụ lục", [["STT", "Chỉ tiêu", "Số liệu"]]
                                 + [[i, f"Chỉ tiêu số {i}", i * 7] for i in range(1, 400)])])


def refusal(data: bytes) -> WorkbookError:
    with pytest.raises(WorkbookError) as info:
        open_package(data)
    return info.value


def test_the_valid_sample_opens(valid):
    assert len(valid) > 4096
    grids = read_grids(open_package(valid))
    assert len(grids[0].rows) == 400


def test_truncated_zip_is_corrupt(valid):
    data = truncated_zip(valid)
    assert data.startswith(b"PK") and len(data) == len(valid) // 2
    assert refusal(data).code == "corrupt_zip"


def test_legacy_xls_is_an_ole2_workbook():
    data = legacy_xls()
    assert data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    assert ENCRYPTED_MARK not in data
    assert refusal(data).code == "legacy_xls"
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    assert ole.listdir() == [["Workbook"]]
    stream = ole.openstream("Workbook").read()
    assert stream[:4] == b"\x09\x08\x10\x00"  # BIFF8 BOF record, 16-byte payload
    assert stream[4:8] == b"\x00\x06\x05\x00"  # version BIFF8, workbook globals
    assert stream.endswith(b"\x0a\x00\x00\x00")  # EOF record


def test_hand_built_password_protected_file(valid):
    data = password_protected(valid)
    assert data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    assert refusal(data).code == "password_protected"
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    assert sorted(ole.listdir()) == [["EncryptedPackage"], ["EncryptionInfo"]]
    package = ole.openstream("EncryptedPackage").read()
    assert int.from_bytes(package[:8], "little") == len(valid)
    assert b"xl/workbook.xml" not in package  # scrambled, not the plain zip
    # msoffcrypto takes it for an agile-encrypted OOXML whose password is unknown
    office = msoffcrypto.OfficeFile(io.BytesIO(data))
    assert isinstance(office, OOXMLFile) and office.is_encrypted() and office.type == "agile"
    with pytest.raises(msoffcrypto.exceptions.InvalidKeyError):
        office.load_key(password="1234", verify_password=True)


def test_genuinely_encrypted_file(valid):
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(valid)).encrypt("Mật khẩu 2024", out)
    data = out.getvalue()
    assert refusal(data).code == "password_protected"
    # really encrypted: the password gives the workbook back
    office = msoffcrypto.OfficeFile(io.BytesIO(data))
    office.load_key(password="Mật khẩu 2024")
    plain = io.BytesIO()
    office.decrypt(plain)
    assert plain.getvalue() == valid


def test_xml_bomb_is_refused_before_parsing():
    data = xml_bomb()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        sst = zf.read("xl/sharedStrings.xml")
    assert sst.split(b"\n", 1)[1].startswith(b"<!DOCTYPE sst [")
    assert sst.count(b"<!ENTITY") == 10 and b"&lol9;" in sst
    assert refusal(data).code == "xml_bomb"
    # the same package without the DTD opens: the DTD alone is what is refused
    parts = workbook_parts([Sheet("Phụ lục", [["Chỉ tiêu"]])])
    assert [n for n, _ in parts] == zipfile.ZipFile(io.BytesIO(data)).namelist()
    open_package(zip_parts(parts))


def test_pdf_is_not_xlsx():
    data = pdf_renamed()
    assert data.startswith(b"%PDF-1.4\n") and data.endswith(b"%%EOF\n")
    # the cross-reference table points at the objects, so readers accept the file
    startxref = int(re.search(rb"startxref\n(\d+)\n", data).group(1))
    assert data[startxref:].startswith(b"xref\n")
    offsets = [int(m.group(1)) for m in re.finditer(rb"(\d{10}) 00000 n ", data)]
    assert [data[o:].split(b"\n", 1)[0] for o in offsets] == [b"%d 0 obj" % n for n in range(1, len(offsets) + 1)]
    error = refusal(data)
    assert error.code == "not_xlsx" and "PDF" in error.message


def test_docx_is_not_xlsx():
    data = docx_renamed()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
    assert "word/document.xml" in names and "xl/workbook.xml" not in names
    error = refusal(data)
    assert error.code == "not_xlsx" and ".docx" in error.message


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_workbook_reads_with_no_rows(engine):
    pkg = open_package(empty_workbook())
    assert [s.name for s in pkg.sheets] == ["Sheet1"]
    grids = read_grids(pkg, engine)
    assert [(g.name, g.rows) for g in grids] == [("Sheet1", [])]


def test_huge_sheet_is_refused_by_its_dimension():
    error = refusal(huge_sheet())
    assert error.code == "sheet_too_large" and "20000" in error.message
    open_package(huge_sheet(MAX_ROWS))  # at the limit: accepted


def test_huge_sheet_without_dimension_is_refused_before_any_reader():
    data = huge_sheet(dimension=False)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert b"<dimension" not in zf.read("xl/worksheets/sheet1.xml")
    error = refusal(data)  # the cells themselves are counted, not the sheet's claim
    assert error.code == "sheet_too_large" and "20000" in error.message


def test_one_row_over_the_limit_is_refused():
    assert refusal(huge_sheet(MAX_ROWS + 1, dimension=False)).code == "sheet_too_large"
    open_package(huge_sheet(MAX_ROWS, dimension=False))  # at the limit: accepted


@pytest.mark.parametrize("engine", ENGINES)
def test_readers_keep_their_own_size_guard(engine):
    """Were the package check ever skipped, each reader still refuses an oversized sheet."""
    pkg = XlsxPackage(open_ooxml(huge_sheet(MAX_ROWS + 1, dimension=False)))
    pkg.sheets = _sheet_parts(pkg)
    with pytest.raises(WorkbookError) as info:
        read_grids(pkg, engine)
    assert info.value.code == "sheet_too_large"


@pytest.mark.parametrize("make", [
    lambda v: truncated_zip(v), lambda v: legacy_xls(), lambda v: password_protected(v), lambda v: xml_bomb(),
    lambda v: pdf_renamed(), lambda v: docx_renamed(), lambda v: empty_workbook(), lambda v: huge_sheet(),
], ids=["truncated", "legacy", "password", "bomb", "pdf", "docx", "empty", "huge"])
def test_every_file_is_deterministic(make, valid):
    assert make(valid) == make(valid)


def test_bad_files_needs_no_dev_dependency():
    code = ("import sys, cchc_tools.demo.bad_files as b; b.password_protected(b.empty_workbook()); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('msoffcrypto', 'olefile', 'openpyxl')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- the OLE2 builder ------------------------------------------------------------------------------

def test_cfb_container_round_trips_streams_of_every_size():
    sizes = [0, 1, 63, 64, 65, 4095, 4096, 4097, 70_000, 300]
    streams = {f"Stream {i}": bytes((i * 7 + k) % 251 for k in range(n)) for i, n in enumerate(sizes)}
    data = cfb_container(streams)
    assert len(data) % 512 == 0
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    assert sorted("/".join(p) for p in ole.listdir()) == sorted(streams)
    for name, content in streams.items():
        assert ole.get_size(name) == len(content)
        assert ole.openstream(name).read() == content, name
    assert not ole.parsing_issues


@pytest.mark.parametrize("n", range(0, 16))
def test_directory_tree_is_a_valid_red_black_tree(n):
    names = ["Root Entry"] + [f"S{'x' * (i % 3)}{i}" for i in range(n)]
    ids = list(range(1, n + 1))
    root, links = _sibling_tree(ids, names)
    key = lambda i: (len(names[i]), names[i].upper())  # noqa: E731
    NONE = 0xFFFFFFFF

    def walk(node):  # returns (in-order ids, black height)
        if node == NONE:
            return [], 1
        left, right, color = links[node]
        if color == 0:  # red nodes have black children
            assert all(child == NONE or links[child][2] == 1 for child in (left, right))
        lo, lh = walk(left)
        hi, rh = walk(right)
        assert lh == rh
        return lo + [node] + hi, lh + color

    order, _ = walk(root)
    assert order == sorted(ids, key=key)
    assert root == NONE if n == 0 else links[root][2] == 1


def test_cfb_rejects_invalid_stream_names():
    with pytest.raises(ValueError):
        cfb_container({"a/b": b""})
    with pytest.raises(ValueError):
        cfb_container({"x" * 32: b""})


def test_every_public_function_is_documented():
    for name in bad_files.__all__:
        doc = getattr(bad_files, name).__doc__
        assert doc and doc.strip(), name
