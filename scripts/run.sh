#!/usr/bin/env bash
# Serve Bailo on 127.0.0.1:8000. Default: the embedded mode (SQLite, blobs on disk, eager tasks),
# ignoring any .env left by `make stack`. With --stack: the real components named in .env.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DEBUG="${DEBUG:-1}"
if [[ "${1:-}" == "--stack" ]]; then
  if [[ ! -f .env ]]; then
    echo "No .env: run 'make stack' first." >&2
    exit 1
  fi
  export BAILO_AUTH_MODE="${BAILO_AUTH_MODE:-password}"
else
  export BAILO_ENV_FILE=none
  export BAILO_AUTH_MODE="${BAILO_AUTH_MODE:-dev}"
fi
mkdir -p var
$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo
ADDR="${BAILO_ADDR:-127.0.0.1:8000}"
cat <<EOT

  Bailo is starting on http://$ADDR/
  Sign in as admin (an administrator), alice, bob or carol; the password is bailo-demo.
  API: http://$ADDR/api/docs   Docs: http://$ADDR/docs/
  Auth mode: $BAILO_AUTH_MODE$( [[ $BAILO_AUTH_MODE == dev ]] && echo " (API calls without credentials act as the administrator 'user')")

EOT
exec $PY manage.py runserver "$ADDR"
