# Kernpunt API server image.
#
#   docker build -t kernpunt .
#   docker run -p 8000:8000 \
#     -e KERNPUNT_DATABASE_URL=postgresql+asyncpg://kernpunt:secret@db:5432/kernpunt \
#     -e KERNPUNT_JWT_KEYS='{"k1":"<at least 32 random characters>"}' kernpunt
#
# The container migrates the database (`kernpunt db upgrade`) and then serves on
# 0.0.0.0:8000 with ${KERNPUNT_WORKERS:-4} workers. Any arguments replace that, e.g.
#   docker run --rm ... kernpunt kernpunt users create-admin

############################ builder: a virtualenv with Kernpunt installed
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, in their own layer: only a pyproject.toml change rebuilds them.
COPY pyproject.toml README.md ./
RUN mkdir -p backend merchant_app consumer_app \
    && touch backend/__init__.py merchant_app/__init__.py consumer_app/__init__.py \
    && pip install . \
    && pip uninstall -y kernpunt \
    && rm -rf backend merchant_app consumer_app build *.egg-info

COPY backend ./backend
COPY merchant_app ./merchant_app
COPY consumer_app ./consumer_app
RUN pip install --no-deps . \
    && python -c "import backend.app, backend.cli"

############################ runtime: slim, non-root
FROM python:3.11-slim AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    KERNPUNT_ENV=production \
    KERNPUNT_DATABASE_URL=sqlite+aiosqlite:////app/var/kernpunt.db \
    KERNPUNT_ALEMBIC_DIR=/app/alembic \
    KERNPUNT_PORT=8000 \
    KERNPUNT_WORKERS=4

RUN groupadd --system --gid 10001 kernpunt \
    && useradd --system --uid 10001 --gid kernpunt --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin kernpunt

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# Migrations: the CLI looks in KERNPUNT_ALEMBIC_DIR, then ./alembic (the working directory).
COPY alembic.ini ./alembic.ini
COPY alembic ./alembic
COPY docker/entrypoint.sh /usr/local/bin/kernpunt-entrypoint
COPY docker/healthcheck.py /usr/local/bin/kernpunt-healthcheck
RUN chmod 0755 /usr/local/bin/kernpunt-entrypoint /usr/local/bin/kernpunt-healthcheck \
    && mkdir -p /app/var \
    && chown kernpunt:kernpunt /app/var

USER kernpunt

# Only used when KERNPUNT_DATABASE_URL stays at the SQLite default.
VOLUME ["/app/var"]
EXPOSE 8000

# python:3.11-slim has no curl; docker/healthcheck.py probes /healthz with the stdlib.
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "/usr/local/bin/kernpunt-healthcheck"]

ENTRYPOINT ["kernpunt-entrypoint"]
