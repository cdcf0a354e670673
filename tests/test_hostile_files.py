"""Hostile workbooks through `cchc check` and `cchc extract`: each refused with a cause a clerk can read,
the good files beside them still read, no traceback, no crash, bounded memory.

Every hostile file is written here, part by part (tests/hostile_workbooks.py), the way an attacker or a
broken producer would write it.
"""
from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_workbooks import DECL, NS_MAIN, lying_zip_bomb, pack, sheet_xml, workbook_parts

REPO = Path(__file__).resolve().parents[1]
CCHC = str(REPO / ".venv" / "bin" / "cchc")
ONE_GB_KB = 1024 * 1024

# What a clerk must never read: parser jargon, exception names, reader internals.
JARGON = ("DTD", "ENTITY", "Traceback", "Error", "Exception", "BadZip", "CRC", "xml.", "panick", "calamine",
          "openpyxl", "zipfile", "errno", "Errno")

# A billion-laughs DTD kept small (10^4 expansions) so the old reader could survive it and be seen to load it.
LAUGHS = ('<!DOCTYPE {root} [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{"&lol{};".format("" if i == 1 else i - 1) * 10}">' for i in range(1, 5))
          + "]>")
XXE = '<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'
ROOTS = {"xl/worksheets/sheet1.xml": "worksheet", "xl/styles.xml": "styleSheet", "xl/workbook.xml": "workbook",
         "[Content_Types].xml": "Types", "_rels/.rels": "Relationships", "xl/_rels/workbook.xml.rels": "Relationships",
         "xl/sharedStrings.xml": "sst"}
SST = DECL + f'<sst xmlns="{NS_MAIN}" count="1" uniqueCount="1"><si><t>Ghi chú</t></si></sst>'


def cli_env() -> dict:
    env = dict(os.environ)
    for name in ("CCHC_REGISTRY", "CCHC_UNIT_MAPPING", "CCHC_PARSER"):
        env.pop(name, None)
    return env


def run(*args: str, timeout: float = 600) -> tuple[subprocess.CompletedProcess, int]:
    """Run cchc; also return the peak resident memory (KB) of its whole process tree."""
    probe = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", probe, CCHC, *args], cwd=REPO, env=cli_env(), capture_output=True,
                          text=True, timeout=timeout)
    lines = proc.stderr.rstrip("\n").split("\n")
    proc.stderr = "\n".join(lines[:-1])
    return proc, int(lines[-1])


def _strip_declaration(xml: str) -> str:
    return xml.split("?>", 1)[1].lstrip("\n") if xml.startswith("<?xml") else xml


def with_dtd(part: str, variant: str) -> bytes:
    """A minimal workbook whose ``part`` carries a DTD, written the ``variant`` way."""
    parts = workbook_parts(shared_strings=SST)
    body = _strip_declaration(parts[part])
    root = ROOTS[part]
    laughs = LAUGHS.format(root=root)
    if variant == "padded":  # past the first 4 KB, behind a comment and blank lines
        text = DECL + "<!--" + " " * 6000 + "-->\n\n" + laughs + body
        data = text.encode("utf-8")
    elif variant == "utf16le_bom":
        text = '<?xml version="1.0" encoding="UTF-16"?>\n' + laughs + body
        data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    elif variant == "utf16be_no_bom":
        text = '<?xml version="1.0" encoding="UTF-16"?>' + "\n" * 3 + laughs + body
        data = text.encode("utf-16-be")
    elif variant == "utf8_bom_xxe":
        text = "<?xml version='1.0' encoding='utf-8'?>" + "\t\n" * 2000 + XXE.format(root=root) + body
        data = codecs.BOM_UTF8 + text.encode("utf-8")
    else:
        raise ValueError(variant)
    parts[part] = data
    return pack(parts)


def corner_cell(dimension: str | None, ref: str = "XFD1048576") -> bytes:
    row = int("".join(ch for ch in ref if ch.isdigit()))
    extra = f'<row r="{row}"><c r="{ref}"><v>1</v></c></row>'
    return pack(workbook_parts([("Biểu mẫu 4", sheet_xml(dimension=dimension, extra_rows=extra))]))


def lying_shared_strings() -> bytes:
    sst = DECL + f'<sst xmlns="{NS_MAIN}" count="4000000000" uniqueCount="4000000000"><si><t>a</t></si></sst>'
    return pack(workbook_parts(shared_strings=sst))


def sheet_part_not_named_xml() -> bytes:
    """The worksheet stored as 'sheet1.txt' (the relationship points there), with a DTD in it."""
    xml = DECL + LAUGHS.format(root="worksheet") + _strip_declaration(sheet_xml())
    return pack(workbook_parts([("Biểu mẫu 4", xml)], sheet_paths=["worksheets/sheet1.txt"]))


def duplicate_sheet_names() -> bytes:
    return pack(workbook_parts([("Biểu mẫu 4", sheet_xml()), ("Biểu mẫu 4", sheet_xml())]))


def crc_lying_bomb(prefix_crc: bool) -> bytes:
    """200 MB behind an entry that declares 1 KiB: CRC of everything, or CRC of the declared KiB."""
    return lying_zip_bomb(workbook_parts(), "xl/worksheets/sheet1.xml", 200_000_000, prefix_crc=prefix_crc)


HOSTILE: dict[str, tuple[bytes, str]] = {
    "corner_no_dimension": (corner_cell(None), "quá lớn"),
    "corner_lying_dimension": (corner_cell("A1:E5"), "quá lớn"),
    "wide_and_long": (corner_cell(None, "ZZ50000"), "quá lớn"),
    "shared_strings_count": (lying_shared_strings(), "không an toàn"),
    "sheet_part_named_txt": (sheet_part_not_named_xml(), "không an toàn"),
    "duplicate_sheet_names": (duplicate_sheet_names(), "cùng tên"),
    "crc_lying_bomb": (crc_lying_bomb(False), "nén"),
    "prefix_crc_bomb": (crc_lying_bomb(True), "nén"),
}
for _part in ROOTS:
    for _variant in ("padded", "utf16le_bom", "utf16be_no_bom", "utf8_bom_xxe"):
        HOSTILE[f"dtd_{_variant}_in_{_part.replace('/', '_').strip('[]')}"] = (with_dtd(_part, _variant), "không an toàn")


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "BADUNIT" / "2023-Q3"
    folder.mkdir(parents=True)
    for name, (data, _) in HOSTILE.items():
        (folder / f"{name}.xlsx").write_bytes(data)
    return folder


def test_the_hostile_workbooks_are_what_they_claim():
    """Each file is hostile in the intended way (else the refusals below would prove nothing)."""
    import zipfile

    for name, (data, _) in HOSTILE.items():
        if "bomb" in name:
            continue
        names = zipfile.ZipFile(__import__("io").BytesIO(data)).namelist()
        assert "xl/workbook.xml" in names, name
    padded = zipfile.ZipFile(__import__("io").BytesIO(HOSTILE["dtd_padded_in_xl_styles.xml"][0])).read("xl/styles.xml")
    assert padded.index(b"<!DOCTYPE") > 4096
    utf16 = zipfile.ZipFile(__import__("io").BytesIO(HOSTILE["dtd_utf16be_no_bom_in_xl_worksheets_sheet1.xml"][0]))
    assert "<!DOCTYPE worksheet" in utf16.read("xl/worksheets/sheet1.xml").decode("utf-16-be")


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_every_hostile_workbook_is_refused_in_plain_words(good, hostile_dir, engine):
    bad = sorted(hostile_dir.iterdir())
    proc, peak_kb = run("check", "--json", "--engine", engine, str(good[0]), *map(str, bad), str(good[1]))
    assert "Traceback" not in proc.stderr and "panicked" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    files = json.loads(proc.stdout)["files"]
    assert [f["path"] for f in files] == [str(good[0]), *map(str, bad), str(good[1])]
    for entry, path in zip(files[1:-1], bad):
        _, keyword = HOSTILE[path.stem]
        assert entry["status"] == "unreadable", (path.name, entry)
        message = entry["errors"][0]["message"]
        assert message.startswith(str(path)) and keyword in message, (path.name, message)
        said = message[len(str(path)):]
        assert not any(j in said for j in JARGON), (path.name, message)
    for entry in (files[0], files[-1]):
        assert entry["status"] != "unreadable" and entry["facts"] > 50 and entry["errors"] == []
    print(f"cchc check --engine {engine} on {len(bad)} hostile + 2 good workbooks: peak {peak_kb / 1024:.0f} MB")
    assert peak_kb < ONE_GB_KB, f"peak resident memory {peak_kb / 1024:.0f} MB"


def test_the_technical_cause_is_kept_for_the_data_team(hostile_dir):
    path = hostile_dir / "dtd_padded_in_xl_worksheets_sheet1.xml.xlsx"
    proc, _ = run("check", "-v", str(path))
    assert proc.returncode == 2
    assert "không an toàn" in proc.stdout and "markup declaration" in proc.stdout and "xl/worksheets/sheet1.xml" in proc.stdout


@pytest.mark.parametrize("name", ["corner_no_dimension", "shared_strings_count", "dtd_padded_in_xl_styles.xml",
                                  "crc_lying_bomb"])
def test_extract_refuses_them_too(hostile_dir, name):
    proc, peak_kb = run("extract", "--json", str(hostile_dir / f"{name}.xlsx"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["facts"] == []
    assert peak_kb < ONE_GB_KB


# -- paths that are not workbooks ------------------------------------------------------------------

def test_pipes_devices_and_broken_links_are_refused_without_hanging(good, tmp_path):
    folder = tmp_path / "BADUNIT" / "2023-Q3"
    folder.mkdir(parents=True)
    fifo = folder / "pipe.xlsx"
    os.mkfifo(fifo)
    zero = folder / "zero.xlsx"
    zero.symlink_to("/dev/zero")
    dangling = folder / "dangling.xlsx"
    dangling.symlink_to(folder / "nowhere.xlsx")
    loop = folder / "loop.xlsx"
    loop.symlink_to(loop)
    paths = [fifo, zero, dangling, loop]
    proc, peak_kb = run("check", "--json", str(good[0]), *map(str, paths), str(good[1]), timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    files = json.loads(proc.stdout)["files"]
    for entry in files[1:-1]:
        assert entry["status"] == "unreadable"
        said = entry["errors"][0]["message"][len(entry["path"]):]
        assert not any(j in said for j in JARGON), said
    assert "không phải tệp dữ liệu thông thường" in files[1]["errors"][0]["message"]  # the pipe
    assert "không phải tệp dữ liệu thông thường" in files[2]["errors"][0]["message"]  # /dev/zero
    assert files[0]["facts"] > 50 and files[-1]["facts"] > 50
    assert peak_kb < ONE_GB_KB


# -- what is printed cannot drive the terminal -----------------------------------------------------

def _appendix_with_escapes() -> bytes:
    rows = [["STT", "Chỉ tiêu", "Đơn vị tính", "Số liệu", "Ghi chú"],
            [1, "Tổng số biên chế\x1b]0;pwned\x07 được giao trong năm\x1b[2J", "Người", 25, "\x1b[31mđỏ\u202e"],
            [2, "Số tổ chức liên ngành do cấp huyện thành lập", "Tổ chức", 3, None]]  # a form 4 row, as the sheet
    # XML 1.0 cannot carry ESC itself: Excel writes it as _x001B_, which readers decode.
    xml = sheet_xml(rows).replace("\x1b", "_x001B_").replace("\x07", "_x0007_")
    return pack(workbook_parts([("Biểu\x1b[1m mẫu 4".replace("\x1b", "_x001B_"), xml)]))


def test_extract_and_check_print_no_control_characters(tmp_path):
    folder = tmp_path / "BADUNIT" / "2023-Q3"
    folder.mkdir(parents=True)
    path = folder / "bao_cao\x1b[5m.xlsx"
    path.write_bytes(_appendix_with_escapes())
    outputs = []
    for args in (("extract", str(path)), ("extract", "--json", "--detail", str(path)), ("check", str(path)),
                 ("check", "--json", str(path)), ("check", "--lang", "en", str(tmp_path / "missing\x1b[2J.xlsx"))):
        proc, _ = run(*args)
        assert "Traceback" not in proc.stderr, proc.stderr
        outputs.append(proc.stdout + proc.stderr)
    for out in outputs:
        bad = sorted({f"U+{ord(ch):04X}" for ch in out if (ord(ch) < 32 and ch not in "\n\t") or 0x7F <= ord(ch) < 0xA0
                      or ch == "\u202e"})
        assert not bad, (bad, out[:500])
    facts = json.loads(outputs[1])["facts"]
    assert facts[0]["label"].startswith("Tổng số biên chế")
