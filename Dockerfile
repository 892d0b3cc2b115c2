# Production image for Bailo in Python. One image runs every process; the command picks which
# (deploy/docker-entrypoint.sh):
#
#   docker run IMAGE                                    web: migrate, then gunicorn on port 8000
#   docker run IMAGE worker                             Celery worker (default, scans, purge, webhooks)
#   docker run IMAGE beat                               Celery beat (exactly one per deployment)
#   docker run -it IMAGE python manage.py createsuperuser   anything else runs as given
#
# All configuration comes from environment variables: docs/administration/app-configuration.md.
# Build with `docker build -t bailo-py .`; PYTHON_IMAGE can point at a mirror in isolated networks.
# (No `# syntax=` line on purpose: BuildKit would fetch that frontend image from a registry.)

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
# build: a virtualenv with the project's runtime dependencies (no dev extras)
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, read from pyproject.toml, so that a change to the source alone does not
# download and install them all again.
COPY pyproject.toml ./
RUN python -c "import tomllib; \
print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

COPY . .
RUN pip install .

# ---------------------------------------------------------------------------------------------
# runtime
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="Bailo in Python" \
      org.opencontainers.image.description="Manage the lifecycle of machine-learning models"

# PYTHONPATH: the settings find templates/, static/ and docs/ next to the code (BASE_DIR), so the
# project runs from its source tree in /app. `pip install .` also put a copy of the packages in the
# virtualenv; /app comes first on the path so that copy is never the one imported.
# STATIC_ROOT sits outside var/ so a volume mounted on var/ cannot hide the collected files.
# MALLOC_ARENA_MAX keeps streaming workers' memory flat (bench/transfer measured it).
ENV PYTHONDONTWRITEBYTECODE=1 \
    MALLOC_ARENA_MAX=2 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=bailo_site.settings \
    STATIC_ROOT=/app/staticfiles \
    DEBUG=0

RUN groupadd --system --gid 10001 bailo \
 && useradd --system --uid 10001 --gid bailo --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin bailo

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# The code stays owned by root and read-only for the app user. Only var/ is writable: the
# embedded SQLite database and blob directory (when no DATABASE_URL / S3_ENDPOINT is set) and the
# beat schedule live there.
COPY . .
RUN chmod 0755 deploy/docker-entrypoint.sh \
 && mkdir -p var \
 && chown bailo:bailo var

# Settings refuse to load with DEBUG off and no SECRET_KEY; this key exists for this step only and
# is not kept in the image.
RUN DEBUG=0 SECRET_KEY=build-only python manage.py collectstatic --noinput

# Numeric so that Kubernetes can check runAsNonRoot.
USER 10001:10001

EXPOSE 8000

ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["web"]
