"""Settings read from the environment, and the project's well-known paths.

Every environment variable the project reads is named here, so the README,
docker-compose.yml and the tests can be checked against one list.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_PROJECT_DIR = "CCHC_PROJECT_DIR"  # where dags/, dbt_project/, expectations/ live (set in containers)
PROJECT_DIR = Path(os.environ.get(ENV_PROJECT_DIR, Path(__file__).resolve().parents[1]))

DAGS_DIR = PROJECT_DIR / "dags"
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
INDICATOR_CATALOG = DBT_PROJECT_DIR / "seeds" / "indicator_catalog.csv"
RULE_CATALOG = EXPECTATIONS_DIR / "rules.yml"
DEMO_DIR = PROJECT_DIR / "demo"
DEMO_REGISTRY = DEMO_DIR / "registry" / "org_units.csv"
DEMO_UNIT_MAPPING = DEMO_DIR / "registry" / "unit_mapping.csv"

# Environment variables (all optional).
ENV_DATABASE_URL = "CCHC_DATABASE_URL"  # a real PostgreSQL; otherwise the embedded one
ENV_INBOX = "CCHC_INBOX"  # <inbox>/<unit_code>/<YYYY>-Q<n>/<file>.xlsx
ENV_HOME = "CCHC_HOME"  # local state: embedded database, Airflow home, reports, GX
ENV_REGISTRY = "CCHC_REGISTRY"  # org-unit registry CSV maintained by the data team
ENV_UNIT_MAPPING = "CCHC_UNIT_MAPPING"  # dated old -> new unit mapping CSV
ENV_REPORTS_DIR = "CCHC_REPORTS_DIR"  # feedback reports and Data Docs copies
ENV_PARSER = "CCHC_PARSER"  # calamine (default) or openpyxl
ENV_BI_PASSWORD = "CCHC_BI_PASSWORD"  # password given to the bi_reader role (default: derived, see warehouse/access.py)
ENV_PIPELINE_PASSWORD = "CCHC_PIPELINE_PASSWORD"  # password of the cchc_pipeline login the nightly job uses
ENV_AIRFLOW_PORT = "CCHC_AIRFLOW_PORT"  # port of the local Airflow UI (make airflow), default 8080
ENV_INGEST_BATCH_FILES = "CCHC_INGEST_BATCH_FILES"  # files per ingest task of the DAG (workers share them)

ALL_ENV_VARS = (
    ENV_PROJECT_DIR,
    ENV_DATABASE_URL,
    ENV_INBOX,
    ENV_HOME,
    ENV_REGISTRY,
    ENV_UNIT_MAPPING,
    ENV_REPORTS_DIR,
    ENV_PARSER,
    ENV_BI_PASSWORD,
    ENV_PIPELINE_PASSWORD,
    ENV_AIRFLOW_PORT,
    ENV_INGEST_BATCH_FILES,
)

# Folders inside an inbox whose name starts with one of these are not unit folders.
INBOX_IGNORED_PREFIXES = ("_", ".")


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    inbox: Path | None
    registry: Path | None
    unit_mapping: Path | None
    reports_dir: Path
    parser: str
    bi_password: str | None  # None: derived from the administrator's password (warehouse/access.py)
    pipeline_password: str | None = None

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def embedded_pgdata(self) -> Path | None:
        """The embedded server's data folder, or None when CCHC_DATABASE_URL names a server."""
        return None if self.database_url else self.pgdata

    @property
    def secrets_dir(self) -> Path:
        """Generated passwords (0700 folder, 0600 files)."""
        return self.home / "secrets"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def gx_dir(self) -> Path:
        return self.home / "gx"

    @property
    def dbt_target_dir(self) -> Path:
        return self.home / "dbt-target"

    @property
    def demo_inbox(self) -> Path:
        return self.home / "demo-inbox"

    def resolved_registry(self, inbox: Path | None = None) -> Path:
        """The registry CSV: configured, else one shipped inside the inbox, else the demo one."""
        if self.registry:
            return self.registry
        inbox = inbox or self.inbox
        if inbox is not None and (inbox / "_registry" / "org_units.csv").is_file():
            return inbox / "_registry" / "org_units.csv"
        if self.inbox is not None:
            # The demo registry belongs to the demo inbox: never let it replace a real province's.
            from .errors import SetupError

            raise SetupError(f"Không có danh mục đơn vị cho thư mục nhận báo cáo {self.inbox}: đặt tệp "
                             f"_registry/org_units.csv vào thư mục đó hoặc chỉ đường dẫn bằng {ENV_REGISTRY}.")
        return DEMO_REGISTRY

    def resolved_unit_mapping(self, inbox: Path | None = None) -> Path:
        if self.unit_mapping:
            return self.unit_mapping
        inbox = inbox or self.inbox
        if inbox is not None and (inbox / "_registry" / "unit_mapping.csv").is_file():
            return inbox / "_registry" / "unit_mapping.csv"
        return DEMO_UNIT_MAPPING


def _path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else None


def ingest_batch_files() -> int:
    """Files per ingest task of the DAG: one task per batch, spread over the workers."""
    value = os.environ.get(ENV_INGEST_BATCH_FILES, "").strip()
    if not value:
        return 1000
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{ENV_INGEST_BATCH_FILES} must be a positive whole number, not {value!r}")
    return int(value)


def load_settings() -> Settings:
    home = _path(ENV_HOME) or (PROJECT_DIR / ".cchc")
    parser = os.environ.get(ENV_PARSER, "calamine").strip().lower() or "calamine"
    if parser not in ("calamine", "openpyxl"):
        from .errors import SetupError

        raise SetupError(f"{ENV_PARSER} phải là calamine hoặc openpyxl, không phải “{parser}”.")
    return Settings(
        home=home,
        database_url=os.environ.get(ENV_DATABASE_URL, "").strip() or None,
        inbox=_path(ENV_INBOX),
        registry=_path(ENV_REGISTRY),
        unit_mapping=_path(ENV_UNIT_MAPPING),
        reports_dir=_path(ENV_REPORTS_DIR) or (home / "reports"),
        parser=parser,
        bi_password=os.environ.get(ENV_BI_PASSWORD) or None,
        pipeline_password=os.environ.get(ENV_PIPELINE_PASSWORD) or None,
    )
