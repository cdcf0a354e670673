"""One call from workbook bytes to figures: safety checks, cell grid, layout, matching."""
from __future__ import annotations

from pathlib import Path

from ..catalog import Catalog, load_catalog
from .extract import Extraction, extract_facts
from .package import open_package
from .reader import read_grids


def read_workbook_bytes(data: bytes, engine: str = "calamine", catalog: Catalog | None = None) -> Extraction:
    """Raises WorkbookError (with a Vietnamese message) for anything that is not a readable appendix."""
    pkg = open_package(data)
    grids = read_grids(pkg, engine)
    return extract_facts(grids, catalog or load_catalog())


def read_workbook(path: str | Path, engine: str = "calamine", catalog: Catalog | None = None) -> Extraction:
    return read_workbook_bytes(Path(path).read_bytes(), engine, catalog)
