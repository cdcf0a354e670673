"""Static checks of docker-compose.yml, Dockerfile and .dockerignore.

No Docker engine is needed: the compose file is validated against the vendored Compose
Specification schema, then checked for consistency with itself, with the repository layout,
with ingestion/config.py and with uv.lock.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shlex
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `import ingestion` without an installed package
    sys.path.insert(0, str(REPO))

import cchc_tools  # noqa: E402
from ingestion import config  # noqa: E402

COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
LOCK_FILE = REPO / "uv.lock"
SCHEMA_FILE = Path(__file__).resolve().parent / "vendor" / "compose-spec.json"

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
EXPECTED_SERVICES = ("postgres", "redis", "warehouse", *AIRFLOW_SERVICES)
# ingestion/config.py reads CCHC_PROJECT_DIR directly (to compute PROJECT_DIR) and does not
# list it in ALL_ENV_VARS; every other CCHC_* variable must be in that list.
PROJECT_DIR_VAR = "CCHC_PROJECT_DIR"


# --------------------------------------------------------------------------- helpers

def load_compose(path: Path = COMPOSE_FILE) -> dict:
    # safe_load resolves anchors and `<<` merge keys, as Compose does.
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^{}]*))?\}")
# What an operator puts in .env: the variables compose refuses to start without (`${VAR:?message}`).
OPERATOR_ENV = {
    "CCHC_WAREHOUSE_PASSWORD": "wh-admin-secret",
    "CCHC_PIPELINE_PASSWORD": "pipeline-secret",
    "CCHC_BI_PASSWORD": "bi-secret",
    "_AIRFLOW_WWW_USER_PASSWORD": "ui-secret",
    "AIRFLOW__API_AUTH__JWT_SECRET": "jwt-secret",
}


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose interpolation with a host environment of only ``env`` (default: OPERATOR_ENV):
    `${VAR:-d}` / `${VAR-d}` give env[VAR] or d, `${VAR}` gives env[VAR] or '', `${VAR:?msg}`
    fails when VAR is not in env. `$$` is an escaped `$`. Fails on syntax it does not understand."""
    if not isinstance(value, str):
        return value
    env = OPERATOR_ENV if env is None else env
    out = value.replace("$$", "\0")

    def repl(m: re.Match) -> str:
        name, op, arg = m.group("name"), m.group("op"), m.group("arg")
        if name in env and (env[name] or not (op or "").startswith(":")):
            return env[name] if op not in (":+", "+") else arg
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise AssertionError(f"required variable {name} in {value!r}: {arg}")
        return ""  # ${VAR}, ${VAR:+x}, ${VAR+x} with VAR unset

    out = _VAR.sub(repl, out)
    assert "${" not in out, f"unsupported interpolation in {value!r}"
    return out.replace("\0", "$")


def env_of(service: dict) -> dict[str, str | None]:
    """A service's environment as a dict, from either the mapping or the `- KEY=VALUE` form."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): (None if v is None else str(v)) for k, v in env.items()}
    result: dict[str, str | None] = {}
    for item in env:
        key, sep, val = str(item).partition("=")
        result[key] = val if sep else None
    return result


def resolved_env(service: dict) -> dict[str, str | None]:
    return {k: (None if v is None else interpolate(v)) for k, v in env_of(service).items()}


def command_words(service: dict) -> list[str]:
    cmd = service.get("command")
    if cmd is None:
        return []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def mounts(service: dict) -> list[dict]:
    """Volumes as dicts {type, source, target, read_only}; short and long syntax."""
    result = []
    for vol in service.get("volumes") or []:
        if isinstance(vol, dict):
            source = interpolate(str(vol.get("source", "")))
            result.append({
                "type": vol.get("type", "volume"),
                "raw_source": str(vol.get("source", "")),
                "source": source,
                "target": vol["target"],
                "read_only": bool(vol.get("read_only", False)),
            })
            continue
        raw_parts = _split_short_volume(str(vol))
        parts = [interpolate(p) for p in raw_parts]
        if len(parts) == 1:  # anonymous volume
            result.append({"type": "volume", "raw_source": "", "source": "",
                           "target": parts[0], "read_only": False})
            continue
        source, target = parts[0], parts[1]
        options = parts[2].split(",") if len(parts) > 2 else []
        is_bind = source.startswith((".", "/", "~"))
        result.append({
            "type": "bind" if is_bind else "volume",
            "raw_source": raw_parts[0],
            "source": source,
            "target": target,
            "read_only": "ro" in options,
        })
    return result


def _split_short_volume(spec: str) -> list[str]:
    # Split on ':' but not inside ${...} (defaults such as ${X:-./inbox} contain ':').
    parts, depth, current = [], 0, ""
    for ch in spec:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def depends_on(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return {name: (spec or {"condition": "service_started"}) for name, spec in deps.items()}


def has_healthcheck(service: dict) -> bool:
    check = service.get("healthcheck") or {}
    return bool(check.get("test")) and not check.get("disable", False) and check["test"] != ["NONE"]


def uses_project_image(service: dict, compose: dict) -> bool:
    common = compose["x-airflow-common"]
    return service.get("image") == common["image"] and service.get("build") == common["build"]


def parse_url(url: str):
    parts = urlsplit(url)
    return parts, parts.path.lstrip("/")


# --------------------------------------------------------------------------- helper self-tests

def test_env_helper_reads_list_mapping_and_merged_forms():
    doc = yaml.safe_load(
        """
x-common: &common
  environment: &env
    A: "1"
    CCHC_INBOX: /in
services:
  merged:
    <<: *common
  overridden:
    <<: *common
    environment:
      <<: *env
      B: two
  listed:
    environment:
      - CCHC_INBOX=/data/inbox
      - EMPTY=
      - PASSTHROUGH
"""
    )
    svc = doc["services"]
    assert env_of(svc["merged"]) == {"A": "1", "CCHC_INBOX": "/in"}
    assert env_of(svc["overridden"]) == {"A": "1", "CCHC_INBOX": "/in", "B": "two"}
    assert env_of(svc["listed"]) == {"CCHC_INBOX": "/data/inbox", "EMPTY": "", "PASSTHROUGH": None}


def test_interpolation_and_volume_helpers():
    assert interpolate("a${X:-./inbox}b") == "a./inboxb"
    assert interpolate("${X-y}/${Z}") == "y/"
    assert interpolate("$${HOSTNAME}") == "${HOSTNAME}"
    with pytest.raises(AssertionError):
        interpolate("${X:?must be set}")
    assert interpolate("${X:?must be set}", {"X": "v"}) == "v"
    assert interpolate("${X:-d}", {"X": ""}) == "d" and interpolate("${X-d}", {"X": ""}) == ""
    (inbox,) = mounts({"volumes": ["${CCHC_INBOX_HOST:-./inbox}:/data/inbox:ro"]})
    assert inbox == {"type": "bind", "raw_source": "${CCHC_INBOX_HOST:-./inbox}",
                     "source": "./inbox", "target": "/data/inbox", "read_only": True}
    (named,) = mounts({"volumes": ["state:/opt/state"]})
    assert named["type"] == "volume" and not named["read_only"]


# --------------------------------------------------------------------------- schema

def test_compose_file_parses():
    doc = load_compose()
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict)
    assert "x-airflow-common" in doc, "the shared Airflow settings live in the x-airflow-common anchor"


def _validator_class(schema: dict):
    from jsonschema.validators import validator_for

    declared = schema.get("$schema", "")
    # The spec declares "https://json-schema.org/draft-07/schema"; jsonschema registers the
    # metaschemas under their canonical http://...# ids, so try those spellings too.
    bare = declared.rstrip("#")
    candidates = [declared, bare, bare + "#",
                  bare.replace("https://", "http://"), bare.replace("https://", "http://") + "#"]
    for uri in candidates:
        cls = validator_for({"$schema": uri}, default=None)
        if cls is not None:
            return cls
    raise AssertionError(f"unknown $schema {declared!r}")


def test_vendored_schema_is_a_valid_schema():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = _validator_class(schema)
    assert "draft7" in cls.__name__.lower(), cls  # what the Compose spec declares
    cls.check_schema(schema)


def test_compose_file_validates_against_compose_spec(compose):
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = _validator_class(schema)(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    messages = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]
    assert not messages, "\n".join(messages)


# --------------------------------------------------------------------------- services

def test_expected_services_exist(services):
    missing = [name for name in EXPECTED_SERVICES if name not in services]
    assert not missing, f"missing services: {missing}"


def test_airflow_services_use_the_project_image(compose, services):
    common = compose["x-airflow-common"]
    assert common["build"] in (".", {"context": "."}), "image must be built from ./Dockerfile"
    assert interpolate(common["image"]) == "cchc-warehouse:latest"
    assert "CCHC_IMAGE_NAME" in common["image"]
    for name in AIRFLOW_SERVICES:
        assert uses_project_image(services[name], compose), name


def test_databases_and_broker_have_healthchecks(services):
    for name in ("postgres", "redis", "warehouse"):
        assert has_healthcheck(services[name]), f"{name} has no healthcheck"
    for name in ("postgres", "warehouse"):
        assert services[name]["image"] == "postgres:16", name


def test_celery_executor_with_redis_broker_and_postgres_metadata(compose, services):
    for name in AIRFLOW_SERVICES:
        env = resolved_env(services[name])
        assert env.get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor", name

        broker, _ = parse_url(env["AIRFLOW__CELERY__BROKER_URL"])
        assert broker.scheme == "redis" and broker.hostname == "redis", name
        assert services[broker.hostname]["image"].startswith("redis"), name

        pg_env = resolved_env(services["postgres"])
        for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
            url, db = parse_url(env[key])
            assert "postgresql" in url.scheme, (name, key)
            assert url.hostname == "postgres", (name, key)
            assert url.username == pg_env["POSTGRES_USER"], (name, key)
            assert url.password == pg_env["POSTGRES_PASSWORD"], (name, key)
            assert db == pg_env["POSTGRES_DB"], (name, key)


def test_airflow_settings(services):
    for name in AIRFLOW_SERVICES:
        env = resolved_env(services[name])
        assert env.get("AIRFLOW__CORE__LOAD_EXAMPLES") == "false", name
        assert env.get("AIRFLOW__CORE__DEFAULT_TIMEZONE") == "Asia/Ho_Chi_Minh", name


def test_execution_api_and_jwt_secret_are_shared(services):
    # Workers call the api-server's Task Execution API; the JWT secret must be the same value
    # everywhere or task tokens fail signature checks.
    secrets = set()
    for name in AIRFLOW_SERVICES:
        raw = env_of(services[name])
        url = urlsplit(interpolate(raw["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]))
        assert url.hostname == "airflow-apiserver", name
        assert url.path.rstrip("/") == "/execution", name
        published = {str(p).split(":")[-1] for p in services["airflow-apiserver"]["ports"]}
        assert str(url.port) in published, name
        assert raw.get("AIRFLOW__API_AUTH__JWT_SECRET"), f"{name}: no JWT secret"
        secrets.add(raw["AIRFLOW__API_AUTH__JWT_SECRET"])
    assert len(secrets) == 1, secrets


def test_commands(services):
    assert command_words(services["airflow-apiserver"]) == ["api-server"]
    assert command_words(services["airflow-dag-processor"]) == ["dag-processor"]
    assert command_words(services["airflow-scheduler"]) == ["scheduler"]
    assert command_words(services["airflow-triggerer"]) == ["triggerer"]
    assert command_words(services["airflow-worker"])[:2] == ["celery", "worker"]
    init = services["airflow-init"]
    assert resolved_env(init).get("_AIRFLOW_DB_MIGRATE") == "true"
    assert "airflow" in " ".join(command_words(init))


def test_worker_can_scale(services):
    worker = services["airflow-worker"]
    assert "container_name" not in worker, "a fixed container_name prevents --scale"
    # A fixed host port would clash between replicas too.
    for port in worker.get("ports") or []:
        assert ":" not in str(port), f"worker publishes a host port: {port}"


def test_apiserver_published_on_8080(services):
    ports = [str(p) for p in services["airflow-apiserver"].get("ports", [])]
    assert "8080:8080" in ports


def test_flower_is_optional(services):
    if "flower" in services:
        assert services["flower"].get("profiles"), "flower must sit behind a profile"
        assert command_words(services["flower"])[:2] == ["celery", "flower"]


# --------------------------------------------------------------------------- project settings

def test_cchc_env_keys_are_known_to_the_code(services):
    allowed = set(config.ALL_ENV_VARS) | {PROJECT_DIR_VAR}
    source = Path(config.__file__).read_text(encoding="utf-8")
    assert f'"{PROJECT_DIR_VAR}"' in source, "config.py no longer reads CCHC_PROJECT_DIR"
    for name, service in services.items():
        unknown = sorted(k for k in env_of(service) if k.startswith("CCHC_") and k not in allowed)
        assert not unknown, f"{name}: {unknown} not in ingestion.config.ALL_ENV_VARS"


def test_database_url_points_at_the_warehouse(services):
    """The nightly job logs in as cchc_pipeline; only airflow-init holds the administrator's password."""
    warehouse = resolved_env(services["warehouse"])
    for name in AIRFLOW_SERVICES:
        raw = env_of(services[name]).get(config.ENV_DATABASE_URL)
        assert raw, f"{name}: {config.ENV_DATABASE_URL} not set"
        url, db = parse_url(interpolate(raw))
        assert url.scheme.startswith("postgresql"), name
        assert url.hostname == "warehouse", name
        assert url.port in (None, 5432), "use the container port, not the published one"
        assert db == warehouse["POSTGRES_DB"] == "cchc", name
        if name == "airflow-init":
            assert url.username == warehouse["POSTGRES_USER"] == "cchc", name
            assert url.password == warehouse["POSTGRES_PASSWORD"], name
            # Same host variable on both sides, so overriding it keeps them in step.
            assert "${CCHC_WAREHOUSE_PASSWORD" in raw
            assert "${CCHC_WAREHOUSE_PASSWORD" in env_of(services["warehouse"])["POSTGRES_PASSWORD"]
        else:
            assert url.username == "cchc_pipeline", name
            assert url.password == OPERATOR_ENV["CCHC_PIPELINE_PASSWORD"], name
            assert "CCHC_WAREHOUSE_PASSWORD" not in raw and "CCHC_BI_PASSWORD" not in env_of(services[name]), name


def test_init_sets_up_the_warehouse_roles(services):
    init = services["airflow-init"]
    env = resolved_env(init)
    assert env[config.ENV_PIPELINE_PASSWORD] == OPERATOR_ENV["CCHC_PIPELINE_PASSWORD"]
    assert env[config.ENV_BI_PASSWORD] == OPERATOR_ENV["CCHC_BI_PASSWORD"]
    script = " ".join(command_words(init))
    assert script.index("cchc db setup") > script.index("/entrypoint airflow version")
    assert depends_on(init)["warehouse"]["condition"] == "service_healthy"
    warehouse = resolved_env(services["warehouse"])
    assert warehouse["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256"


def _secret_names(value: str) -> list[tuple[str, str | None]]:
    return [(m.group("name"), m.group("op")) for m in _VAR.finditer(value or "")
            if re.search(r"PASSWORD|SECRET", m.group("name"))]


def test_no_default_credentials(compose, services):
    """Nothing listens on all interfaces with a default password: compose refuses to start instead."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert "change-me" not in text
    defaulted = set()
    for name, service in services.items():
        for value in env_of(service).values():
            for var, op in _secret_names(value):
                if op not in (":?", "?"):
                    defaulted.add((name, var))
    # The only defaulted secret: Airflow's metadata database, which publishes no port.
    assert {var for _, var in defaulted} == {"AIRFLOW_DB_PASSWORD"}, defaulted
    assert not services["postgres"].get("ports")
    for name, service in services.items():
        for port in service.get("ports") or []:
            spec = interpolate(str(port))
            if spec.startswith("127.0.0.1:"):
                continue  # this machine only
            guarded = {"warehouse": "CCHC_WAREHOUSE_PASSWORD", "airflow-apiserver": "_AIRFLOW_WWW_USER_PASSWORD"}
            assert name in guarded, f"{name} publishes {spec} on every interface"
    for var in OPERATOR_ENV:
        missing = {k: v for k, v in OPERATOR_ENV.items() if k != var}
        failures = []
        for service in services.values():
            for value in env_of(service).values():
                try:
                    interpolate(value, missing)
                except AssertionError as exc:
                    failures.append(str(exc))
        assert failures and all(var in f for f in failures), var


def test_warehouse_published_for_bi_tools(services):
    warehouse = services["warehouse"]
    ports = [str(p) for p in warehouse.get("ports", [])]
    assert ports == ["${CCHC_WAREHOUSE_PORT:-5433}:5432"], ports
    assert any(m["type"] == "volume" and m["target"] == "/var/lib/postgresql/data"
               for m in mounts(warehouse))
    pg_volumes = {m["source"] for m in mounts(services["postgres"])}
    wh_volumes = {m["source"] for m in mounts(warehouse)}
    assert not pg_volumes & wh_volumes, "the two databases must not share a data volume"


def test_dags_folder_is_the_mounted_dags_dir(services):
    relative_dags = config.DAGS_DIR.relative_to(config.PROJECT_DIR)
    for name in AIRFLOW_SERVICES:
        service = services[name]
        env = resolved_env(service)
        project_dir = env[PROJECT_DIR_VAR]
        dags_folder = env["AIRFLOW__CORE__DAGS_FOLDER"]
        dags_targets = [m["target"] for m in mounts(service)
                        if m["type"] == "bind" and m["source"] == "./dags"]
        assert dags_targets == [dags_folder], name
        assert PurePosixPath(dags_folder) == PurePosixPath(project_dir) / relative_dags.as_posix()


def test_project_mounts_match_the_repository_and_config(services):
    expected = {
        p.relative_to(config.PROJECT_DIR).as_posix()
        for p in (config.DAGS_DIR, config.DBT_PROJECT_DIR, config.EXPECTATIONS_DIR, config.DEMO_DIR)
    } | {Path(config.__file__).resolve().parent.name,  # the ingestion package itself
         Path(cchc_tools.__file__).resolve().parent.name}  # and the tooling (demo data for `cchc run`, benchmark)
    for name in AIRFLOW_SERVICES:
        service = services[name]
        project_dir = PurePosixPath(resolved_env(service)[PROJECT_DIR_VAR])
        project_mounts = {m["source"][2:]: m for m in mounts(service)
                          if m["type"] == "bind" and m["raw_source"].startswith("./")}
        assert set(project_mounts) == expected, name
        for rel, m in project_mounts.items():
            assert (REPO / rel).is_dir(), f"host side ./{rel} does not exist"
            assert PurePosixPath(m["target"]) == project_dir / rel, (name, rel)
            assert m["read_only"], f"{name}: ./{rel} should be mounted read-only"


def test_inbox_reports_and_state_mounts(services):
    for name in AIRFLOW_SERVICES:
        service = services[name]
        env = resolved_env(service)
        by_target = {m["target"]: m for m in mounts(service)}

        # Workers on any machine share the inbox and the reports: named volumes, backed by the host folders
        # (or shared storage) the operator names.
        inbox = by_target.get(env[config.ENV_INBOX])
        assert inbox is not None, f"{name}: nothing mounted at CCHC_INBOX"
        assert inbox["type"] == "volume" and inbox["source"] == "cchc-inbox", name
        assert inbox["read_only"], f"{name}: the inbox must be read-only"

        reports = by_target.get(env[config.ENV_REPORTS_DIR])
        assert reports is not None, f"{name}: nothing mounted at CCHC_REPORTS_DIR"
        assert reports["type"] == "volume" and reports["source"] == "cchc-reports", name
        assert not reports["read_only"], f"{name}: reports must be writable"

        home = by_target.get(env[config.ENV_HOME])
        assert home is not None and home["type"] == "volume", f"{name}: CCHC_HOME not on a volume"


def test_shared_volumes_are_backed_by_the_named_folders(compose):
    volumes = compose["volumes"]
    for volume, variable in (("cchc-inbox", "CCHC_INBOX_HOST"), ("cchc-reports", "CCHC_REPORTS_HOST")):
        opts = volumes[volume]["driver_opts"]
        assert opts["device"].startswith("${" + variable + ":-/"), volume  # a bind device must be absolute
        assert interpolate(opts["type"]) == "none" and interpolate(opts["o"]) == "bind", volume


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for m in mounts(service):
            if m["type"] == "volume" and m["source"]:
                assert m["source"] in declared, f"{name}: volume {m['source']} not declared"


# --------------------------------------------------------------------------- dependencies

def test_depends_on_targets_exist_and_can_be_satisfied(services):
    for name, service in services.items():
        for target, spec in depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert target != name
            condition = spec.get("condition", "service_started")
            if condition == "service_healthy":
                assert has_healthcheck(services[target]), f"{name} waits for {target}'s health"
            # A profiled dependency would not start with a plain `docker compose up`.
            if not service.get("profiles"):
                assert not services[target].get("profiles"), f"{name} -> profiled {target}"


def test_scheduler_and_worker_wait_for_the_warehouse(services):
    for name in ("airflow-scheduler", "airflow-worker"):
        dep = depends_on(services[name]).get("warehouse")
        assert dep and dep.get("condition") == "service_healthy", name
    for name in AIRFLOW_SERVICES:
        if name != "airflow-init":
            dep = depends_on(services[name]).get("airflow-init")
            assert dep and dep.get("condition") == "service_completed_successfully", name


# --------------------------------------------------------------------------- Airflow config names

def _airflow_config_yml() -> dict | None:
    spec = importlib.util.find_spec("airflow")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "config_templates" / "config.yml"
        if path.is_file():
            return yaml.safe_load(path.read_text(encoding="utf-8"))
    return None


def test_airflow_env_vars_name_real_options(services):
    """AIRFLOW__SECTION__KEY must be an option of the installed Airflow (catches typos)."""
    cfg = _airflow_config_yml()
    if cfg is None:
        pytest.skip("apache-airflow is not installed")
    provider_sections = {"celery"}  # defined by the celery provider, shipped in the image only
    for name, service in services.items():
        for key in env_of(service):
            if not key.startswith("AIRFLOW__"):
                continue
            section, _, option = key[len("AIRFLOW__"):].lower().partition("__")
            if section in provider_sections:
                continue
            assert section in cfg, f"{name}: {key}: no [{section}] section"
            assert option in cfg[section]["options"], f"{name}: {key}: no such option"


# --------------------------------------------------------------------------- Dockerfile

def _lock_version(package: str) -> str:
    import tomllib

    versions = {p["version"] for p in tomllib.loads(LOCK_FILE.read_text(encoding="utf-8"))["package"]
                if p["name"] == package}
    assert len(versions) == 1, f"{package}: {sorted(versions) or 'not pinned'} in uv.lock"
    return versions.pop()


def _dockerfile_from() -> re.Match:
    froms = [line for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
             if line.strip().upper().startswith("FROM ")]
    assert len(froms) == 1, froms
    match = re.match(r"FROM\s+apache/airflow:(?P<airflow>[\w.]+)-python(?P<python>\d+\.\d+)\s*$",
                     froms[0].strip(), re.IGNORECASE)
    assert match, f"unexpected base image: {froms[0]}"
    return match


def test_dockerfile_airflow_version_matches_lock():
    assert _dockerfile_from()["airflow"] == _lock_version("apache-airflow")


def test_dockerfile_python_matches_pyproject():
    import tomllib

    requires = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "requires-python"]
    major, minor = map(int, _dockerfile_from()["python"].split("."))
    from packaging.specifiers import SpecifierSet

    assert f"{major}.{minor}.0" in SpecifierSet(requires), requires


def test_dockerfile_installs_lock_and_project():
    text = DOCKERFILE.read_text(encoding="utf-8")
    # the universal lock exported for the image's Python, then installed with its hashes
    assert re.search(r"uv export[^\n]*--frozen[^\n]*--no-dev[^\n]*-o\s+(\S+)", text)
    exported = re.search(r"uv export[^\n]*-o\s+(\S+)", text)[1]
    assert re.search(r"pip install[^\n]*-r\s+" + re.escape(exported), text)
    assert re.search(r"pip install[^\n]*--no-deps[^\n]*-e\s+/opt/cchc\b", text)


def _dockerignore_patterns() -> list[str]:
    return [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def test_dockerignore_excludes_local_state():
    patterns = {p.rstrip("/") for p in _dockerignore_patterns()}
    required = {".venv", ".cchc", ".git", "bench/out", "dbt_project/target"}
    assert required <= patterns, required - patterns
    assert {"__pycache__", "**/__pycache__"} & patterns


def test_dockerfile_copies_files_that_reach_the_build_context():
    import fnmatch

    patterns = [p.rstrip("/") for p in _dockerignore_patterns() if not p.startswith("!")]
    copies = re.findall(r"^COPY\s+(?:--\S+\s+)*(.+?)\s+\S+\s*$",
                        DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    sources = [s for line in copies for s in line.split()]
    assert {"uv.lock", "pyproject.toml", "ingestion"} <= set(sources), sources
    for src in sources:
        assert (REPO / src).exists(), f"COPY {src}: not in the repository"
        assert not any(fnmatch.fnmatch(src, p) for p in patterns), f"COPY {src} is dockerignored"
