"""A night with hostile entries in the inbox: it completes, every good file is loaded, every bad entry is
rejected with a reason, nothing outside the inbox is read, and the process tree stays under 1 GB.

The inbox is attacked the way a shared folder can be: links to devices and to workbooks elsewhere,
a named pipe, broken and looping links, a hidden file, a workbook whose reader crashes, content the
database refuses (a NUL character, a number past PostgreSQL's numeric range), a far-corner cell.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, generated_inbox, query
from hostile_workbooks import APPENDIX_ROWS, pack, sheet_xml, workbook_parts
from seed_workbooks import build

from ingestion.pipeline import load, nightly

pytestmark = pytest.mark.e2e

CRASH_MARKER = b"CRASH-THE-READER"
# The night, run as `cchc run --direct` would, with one extra: a reader that aborts its process
# (as a Rust panic does) on any workbook carrying CRASH_MARKER. It prints the peak memory (KB)
# of its whole process tree on its last line.
NIGHT = f"""
import os, resource, sys
from ingestion import submission
real = submission.read_report_bytes
def reader(data, *args, **kw):
    if {CRASH_MARKER!r} in data:
        os.abort()
    return real(data, *args, **kw)
submission.read_report_bytes = reader
from ingestion.cli import main
code = main(["run", "--direct", "--no-docs"])
usage = [resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
print("PEAK_KB", max(usage))
sys.exit(code)
"""


def appendix(rows=None, *, comment: bytes = b"") -> bytes:
    data = pack(workbook_parts([("Biểu mẫu 4", sheet_xml(rows))]))
    if comment:
        zf_bytes = io.BytesIO(data)
        with zipfile.ZipFile(zf_bytes, "a") as zf:
            zf.comment = comment
        data = zf_bytes.getvalue()
    return data


def fill_hostile_inbox(inbox: Path, outside: Path) -> dict:
    """A generated inbox plus hostile entries; what each entry is expected to become."""
    manifest = generated_inbox(inbox, units=8, quarters=1, error_rate=0.0, seed=11, end=(2026, 3))
    good = sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*.xlsx") if "_registry" not in p.parts)
    units = sorted({g.split("/")[0] for g in good})
    assert len(units) >= 4 and not manifest["injected"]

    secret = build("000", outside / "KIMPHUONG" / "2024-Q1" / "bao_cao.xlsx")
    q2 = lambda unit: inbox / unit / "2026-Q2"  # noqa: E731 - a quarter with no good file in it
    for unit in units[:4]:
        q2(unit).mkdir()
    links = q2(units[0])
    (links / "zero.xlsx").symlink_to("/dev/zero")
    os.mkfifo(links / "pipe.xlsx")
    (links / "dangling.xlsx").symlink_to(links / "gone.xlsx")
    (links / "loop.xlsx").symlink_to(links / "loop.xlsx")
    (links / "elsewhere.xlsx").symlink_to(secret)
    (inbox / "LINKEDUNIT").symlink_to(outside / "KIMPHUONG")
    (links / ".xlsx").write_bytes(appendix())
    (links / "~$bao_cao.xlsx").write_bytes(b"lock")
    (links / ".~lock.bao_cao.xlsx#").write_bytes(b"lock")
    far = APPENDIX_ROWS[:3]
    (links / "corner.xlsx").write_bytes(pack(workbook_parts([("Biểu mẫu 4", sheet_xml(
        far, dimension=None, extra_rows='<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))])))
    nul_rows = [row[:] for row in APPENDIX_ROWS]
    nul_rows[2][1] = "Số văn bản chỉ đạo_x0000_ CCHC đã ban hành"
    nul_rows[2][4] = "ghi_x0000_chú"
    (q2(units[1]) / "nul.xlsx").write_bytes(appendix(nul_rows))
    huge_rows = [row[:] for row in APPENDIX_ROWS]
    huge_rows[3][3] = "9" * 140_000  # typed as text: past the 131,072 digits PostgreSQL's numeric holds
    (q2(units[2]) / "huge_number.xlsx").write_bytes(appendix(huge_rows))
    crash = appendix(comment=CRASH_MARKER)
    (q2(units[3]) / "crash.xlsx").write_bytes(crash)
    u0, u1, u2, u3 = (f"{u}/2026-Q2" for u in units[:4])
    return {"good": good, "units": units, "secret": secret, "crash": crash, "nul": f"{u1}/nul.xlsx",
            "rejected": {
                f"{u0}/zero.xlsx": "not_a_file", f"{u0}/pipe.xlsx": "not_a_file", f"{u0}/dangling.xlsx": "not_a_file",
                f"{u0}/loop.xlsx": "not_a_file", f"{u0}/elsewhere.xlsx": "not_a_file", "LINKEDUNIT": "not_a_file",
                f"{u0}/.xlsx": "hidden_file", f"{u0}/corner.xlsx": "sheet_too_large",
                f"{u2}/huge_number.xlsx": "db_refused", f"{u3}/crash.xlsx": "reader_crashed"}}


def test_a_hostile_inbox_does_not_stop_the_night(pipeline_env, tmp_path):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    made = fill_hostile_inbox(inbox, tmp_path / "outside")
    good, units, secret, crash, expected = made["good"], made["units"], made["secret"], made["crash"], made["rejected"]
    u0, u1, u2, u3 = (f"{u}/2026-Q2" for u in units[:4])

    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    proc = subprocess.run([sys.executable, "-c", NIGHT], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    peak_kb = int(proc.stdout.rsplit("PEAK_KB", 1)[1].split()[0])
    print(f"peak resident memory of the hostile night (process tree): {peak_kb / 1024:.0f} MB")
    assert peak_kb < 1024 * 1024, f"peak {peak_kb / 1024:.0f} MB"

    files = {path: (status, code) for path, status, code in query(dsn, "select path, status, reject_code from raw.files")}
    # every good file loaded
    assert {g: files.get(g) for g in good} == {g: ("loaded", None) for g in good}
    assert {p: files.get(p) for p in expected} == {p: ("rejected", c) for p, c in expected.items()}
    assert files[f"{u1}/nul.xlsx"] == ("loaded", None)
    # nothing else was seen: the lock files are ignored, the linked folder was not walked
    assert set(files) == set(good) | set(expected) | {f"{u1}/nul.xlsx"}

    # the workbook behind the link was never read: no figure, no hash of it anywhere
    secret_hash = hashlib.sha256(secret.read_bytes()).hexdigest()
    assert query(dsn, "select count(*) from raw.files where content_hash = %s", (secret_hash,))[0][0] == 0
    # the crashed file is recorded by the hash of the bytes its reader was given
    assert query(dsn, "select content_hash from raw.files where path = %s", (f"{u3}/crash.xlsx",))[0][0] == \
        hashlib.sha256(crash).hexdigest()
    # NUL characters were cleaned out, not stored and not fatal
    labels = [r[0] for r in query(dsn, """select label || coalesce(note, '') from raw.facts join raw.files using (file_id)
                                         where path = %s""", (f"{u1}/nul.xlsx",))]
    assert any(lab.startswith("Số văn bản chỉ đạo CCHC") and lab.endswith("ghichú") for lab in labels), labels

    # each rejection: a plain Vietnamese message for the unit, the technical cause kept in details
    rows = query(dsn, "select path, message, details from audit.rejected_files")
    assert {r[0] for r in rows} == set(expected)
    for path, message, _ in rows:
        assert message and not any(j in message for j in ("Error", "errno", "Traceback", "signal", "0x00")), (path, message)
    details = {r[0]: r[2] for r in rows}
    assert "SIGABRT" in details[f"{u3}/crash.xlsx"]["detail"]
    assert "/dev/zero" in details[f"{u0}/zero.xlsx"]["detail"]
    assert "numeric" in details[f"{u2}/huge_number.xlsx"]["detail"]

    run = query(dsn, "select status, marts_published, reports_dir from audit.load_runs")
    assert [r[:2] for r in run] == [("success", True)]
    reports = Path(run[0][2])
    assert any((reports / units[3]).glob("*.html"))  # the unit whose file crashed the reader hears about it


def test_a_file_replaced_after_discovery_is_recorded_by_the_bytes_parsed(pipeline_env, monkeypatch):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=6, quarters=1, error_rate=0.0, seed=3, end=(2026, 3))
    target = sorted(p for p in inbox.rglob("*.xlsx") if "_registry" not in p.parts)[0]
    replacement = appendix()
    real_plan = load.plan_files

    def plan_then_replace(conn, folder):
        plan = real_plan(conn, folder)
        target.write_bytes(replacement)  # the unit saves again between discovery and parsing
        return plan

    monkeypatch.setattr(load, "plan_files", plan_then_replace)
    run = nightly.new_run_id()
    nightly.start(run)
    nightly.ingest_stage(run)
    rel = target.relative_to(inbox).as_posix()
    (file_id, digest, size, n_facts), = query(dsn, "select file_id, content_hash, size_bytes, n_facts from raw.files "
                                                   "where path = %s", (rel,))
    assert digest == hashlib.sha256(replacement).hexdigest() and size == len(replacement)
    assert n_facts == 4  # the replacement's figures, not the generated workbook's
    assert query(dsn, "select count(*) from raw.facts where file_id = %s", (file_id,))[0][0] == 4


def test_a_touched_but_identical_file_is_read_once_and_not_loaded_again(pipeline_env):
    inbox, dsn = pipeline_env["inbox"], pipeline_env["dsn"]
    generated_inbox(inbox, units=6, quarters=1, error_rate=0.0, seed=3, end=(2026, 3))
    nightly.start(run := nightly.new_run_id())
    first = nightly.ingest_stage(run)
    target = sorted(p for p in inbox.rglob("*.xlsx") if "_registry" not in p.parts)[0]
    os.utime(target, (1e9, 1e9))  # copied back, or opened and closed: same bytes, new date
    nightly.finish(run, failed="ingest only")  # one run at a time: the next one starts after this one ends
    nightly.start(run := nightly.new_run_id())
    second = nightly.ingest_stage(run)
    assert (second["new"], second["unchanged"], second["loaded"]) == (0, first["loaded"] + first["rejected"], 0)
    assert query(dsn, "select files_new, files_unchanged from audit.load_runs where run_id = %s", (run,)) == \
        [(0, second["unchanged"])]
    shutil.rmtree(inbox)


def test_an_inbox_nested_deeper_than_pythons_recursion_limit_is_listed(tmp_path):
    from ingestion.pipeline.inbox import scan_inbox

    folder = str(tmp_path)
    for _ in range(sys.getrecursionlimit() + 200):
        folder += "/a"
        os.mkdir(folder)
    Path(folder, "bao_cao.xlsx").write_bytes(b"x")
    Path(tmp_path, "T01X0001", "2025-Q1").mkdir(parents=True)
    Path(tmp_path, "T01X0001", "2025-Q1", "bao_cao.xlsx").write_bytes(b"y")
    try:
        found = scan_inbox(tmp_path)
        assert [f.rel.endswith("/a/bao_cao.xlsx") for f in found] == [False, True]
        assert found[0].unit_code == "T01X0001"
    finally:  # removed bottom-up here: shutil.rmtree (pytest's clean-up) recurses too
        os.remove(os.path.join(folder, "bao_cao.xlsx"))
        while folder != str(tmp_path):
            os.rmdir(folder)
            folder = os.path.dirname(folder)
