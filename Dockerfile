# Image for every Airflow service in docker-compose.yml: the official Airflow image (same
# Airflow and Python versions as uv.lock / pyproject.toml) + the project's packages.
FROM apache/airflow:3.3.2-python3.11

# Mount points of docker-compose.yml, owned by the airflow user (group 0, as the official image
# does) so that fresh named volumes mounted there inherit a writable owner instead of root.
USER root
RUN install -d -o airflow -g 0 -m 0775 /opt/cchc /opt/cchc-state /data/inbox /data/reports
USER airflow

# Dependencies first, in their own layer: rebuilt only when the lock changes. uv exports the
# universal lock for this image's Python (with hashes) and pip installs it; the lock pins
# apache-airflow to the image's own version, so pip cannot up- or downgrade Airflow. Providers
# the lock does not list (celery for the CeleryExecutor, ...) come with the base image.
COPY --chown=airflow:0 pyproject.toml uv.lock /opt/cchc/
RUN pip install --no-cache-dir uv==0.13.9 \
    && uv export --project /opt/cchc --frozen --no-dev --no-emit-project -o /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The ingestion package, the tooling package (demo data, benchmark) and the `cchc` console script. --no-deps: everything is pinned above.
# Editable, because docker-compose.yml bind-mounts ./ingestion over /opt/cchc/ingestion: the
# running code is then the mounted one, and ingestion.config.PROJECT_DIR resolves to /opt/cchc.
COPY --chown=airflow:0 README.md /opt/cchc/
COPY --chown=airflow:0 ingestion /opt/cchc/ingestion
COPY --chown=airflow:0 cchc_tools /opt/cchc/cchc_tools
RUN pip install --no-cache-dir --no-deps -e /opt/cchc \
    && python -c "import ingestion.config, cchc_tools.demo" \
    && command -v cchc

ENV CCHC_PROJECT_DIR=/opt/cchc
