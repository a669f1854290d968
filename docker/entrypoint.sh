#!/bin/sh
# Container entry point: migrate, then serve. Arguments, if any, run instead
# (e.g. `kernpunt users create-admin`, `kernpunt ledger verify`).
set -eu

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

kernpunt db upgrade
exec kernpunt serve --host 0.0.0.0 --port "${KERNPUNT_PORT:-8000}" --workers "${KERNPUNT_WORKERS:-4}"
