"""Labels that matched no catalog indicator, grouped for the data team that grows the catalog.

`cchc catalog unmatched DIR…` reads every report (.xlsx, .docx) under the folders; the nightly job writes the
same list for the files it loaded (reports/<run>/unmatched_labels.json). Each normalised label
comes with its forms and scopes, how many files and figures carry it, an example cell and the
nearest catalog indicators with a similarity score: adding the label as an alias of the right
one (dbt_project/seeds/indicator_catalog.csv, column ``aliases``) attributes it from then on.
The figures themselves are never dropped: they stay in raw.facts and fct_indicator_value.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Iterable

from .indicators import Catalog, load_catalog
from .text.labels import label_key

NEAREST = 3
REASONS_VI = {"unmatched": "không có trong danh mục", "ambiguous": "có thể ứng với nhiều chỉ tiêu",
              "duplicate": "chỉ tiêu đã có ở dòng khác cùng phạm vi", "other_form": "thuộc biểu mẫu khác"}


@dataclass(frozen=True)
class UnmatchedRow:
    """One unattributed figure: where it is and what the reader knew about it."""
    file: str
    sheet: str
    row: int
    label: str
    form: int | None
    scope: str
    reason: str  # the match outcome: unmatched | ambiguous | duplicate | other_form


@dataclass
class UnmatchedLabel:
    key: str
    label: str  # as first typed
    forms: set[int | None] = field(default_factory=set)
    scopes: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)
    figures: int = 0
    reasons: set[str] = field(default_factory=set)
    example: UnmatchedRow | None = None
    nearest: list[tuple[str, float]] = field(default_factory=list)

    def as_json(self, catalog: Catalog) -> dict:
        return {"label": self.label, "key": self.key, "forms": sorted(f for f in self.forms if f is not None),
                "scopes": sorted(self.scopes), "files": len(self.files), "figures": self.figures,
                "reasons": sorted(self.reasons),
                "example": {"file": self.example.file, "sheet": self.example.sheet, "row": self.example.row},
                "nearest": [{"indicator": code, "name": catalog[code].name_vi, "score": score}
                            for code, score in self.nearest]}


def similarity(a: str, b: str) -> float:
    """Word-sequence similarity of two normalised labels, 0-1."""
    return round(SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio(), 2)


def nearest(catalog: Catalog, key: str, forms: Iterable[int | None], n: int = NEAREST) -> list[tuple[str, float]]:
    """The catalog indicators whose name or an alias is closest to a label (in its forms when known)."""
    known = [f for f in forms if f is not None]
    scored = []
    for ind in catalog:
        if ind.kind == "heading" or (known and not any(ind.in_form(f) for f in known)):
            continue
        best = max(similarity(key, label_key(text).short) for text in (ind.name_vi, *ind.aliases))
        scored.append((best, ind.code))
    scored.sort(key=lambda sc: (-sc[0], sc[1]))
    return [(code, score) for score, code in scored[:n] if score > 0]


def group(rows: Iterable[UnmatchedRow], catalog: Catalog) -> list[UnmatchedLabel]:
    groups: dict[str, UnmatchedLabel] = {}
    for r in rows:
        key = label_key(r.label).short or label_key(r.label).full
        g = groups.get(key)
        if g is None:
            g = groups[key] = UnmatchedLabel(key=key, label=r.label, example=r)
        g.forms.add(r.form)
        g.scopes.add(r.scope)
        g.files.add(r.file)
        g.reasons.add(r.reason)
        g.figures += 1
    out = sorted(groups.values(), key=lambda g: (-len(g.files), -g.figures, g.key))
    for g in out:
        g.nearest = nearest(catalog, g.key, g.forms)
    return out


def rows_of_workbooks(paths: Iterable[Path], root: Path | None = None, engine: str = "calamine"
                      ) -> tuple[list[UnmatchedRow], int, list[str]]:
    """Unattributed figures of reports (workbooks and Word reports, read in isolated worker processes
    like every file a command is given); also how many were read and which could not be."""
    from .submission import SubmissionSource, read_submissions

    paths = list(paths)
    rows, read, unreadable = [], 0, []
    for path, ex in zip(paths, read_submissions([SubmissionSource.given(p) for p in paths], engine)):
        name = path.relative_to(root).as_posix() if root is not None and path.is_relative_to(root) else str(path)
        if ex.unreadable is not None:
            unreadable.append(f"{name}: {ex.unreadable.message}")
            continue
        read += 1
        rows += [UnmatchedRow(name, f.sheet, f.row, f.label, f.form, f.scope, f.match) for f in ex.facts
                 if f.indicator is None]
    return rows, read, unreadable


def workbooks_under(folders: Iterable[Path]) -> list[Path]:
    """Every report (.xlsx, .docx) under the folders, or the files themselves."""
    out = []
    for folder in folders:
        if folder.is_file():
            out.append(folder)
            continue
        out += sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".xlsx", ".docx") and p.is_file()
                      and not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts))
    return out


def report_json(labels: list[UnmatchedLabel], catalog: Catalog, **extra) -> dict:
    return {**extra, "labels": len(labels), "figures": sum(g.figures for g in labels),
            "unmatched": [g.as_json(catalog) for g in labels]}


def format_vi(labels: list[UnmatchedLabel], catalog: Catalog, files_read: int) -> str:
    from .rules.messages import SCOPE_IN_MESSAGE_VI

    figures = sum(g.figures for g in labels)
    lines = [f"Nhãn chưa khớp danh mục chỉ tiêu / labels matching no indicator: {len(labels)} nhãn, {figures} số liệu "
             f"(đã đọc {files_read} tệp)"]
    for i, g in enumerate(labels, 1):
        forms = ", ".join(f"Biểu mẫu {f}" for f in sorted(f for f in g.forms if f is not None)) or "không rõ biểu mẫu"
        scopes = ", ".join("toàn đơn vị" if s == "unit" else SCOPE_IN_MESSAGE_VI.get(s, s) for s in sorted(g.scopes))
        reasons = "; ".join(REASONS_VI.get(r, r) for r in sorted(g.reasons))
        lines.append(f"{i:>3}. “{g.label}” — {forms} — {scopes} — {len(g.files)} tệp, {g.figures} số liệu — {reasons}")
        ex = g.example
        lines.append(f"     ví dụ / example: {ex.file}, trang “{ex.sheet}”, dòng {ex.row}")
        if g.nearest:
            near = "; ".join(f"{code} ({str(score).replace('.', ',')}) “{catalog[code].name_vi}”" for code, score in g.nearest)
            lines.append(f"     gần nhất / nearest: {near}")
    if labels:
        lines.append("Thêm nhãn vào cột aliases của chỉ tiêu đúng trong dbt_project/seeds/indicator_catalog.csv "
                     "(các nhãn cách nhau bằng “|”) để lần sau số liệu được gán chỉ tiêu.")
    return "\n".join(lines)


def write_run_list(conn, run_id: str, out_dir: Path, catalog: Catalog | None = None) -> tuple[int, Path]:
    """The unmatched labels of the files a nightly run loaded, written beside its feedback reports."""
    catalog = catalog or load_catalog()
    with conn.cursor() as cur:
        cur.execute("""select f.path, x.sheet, x.row_number, x.label, x.form, coalesce(x.scope, 'unit'),
                              coalesce(x.match, 'unmatched')
                       from raw.facts as x join raw.files as f using (file_id)
                       where f.run_id = %s and f.status = 'loaded' and x.indicator is null
                       order by f.path, x.sheet, x.row_number""", (run_id,))
        rows = [UnmatchedRow(*r) for r in cur.fetchall()]
    labels = group(rows, catalog)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "unmatched_labels.json"
    path.write_text(json.dumps(report_json(labels, catalog, run_id=run_id), ensure_ascii=False, indent=1),
                    encoding="utf-8")
    return len(rows), path
