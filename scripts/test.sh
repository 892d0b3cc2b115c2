#!/usr/bin/env bash
# The whole suite against the real components. Starts what is not already running and stops,
# on any exit, only what it started. Exits non-zero on any failure, including "no tests ran".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LC_NUMERIC=C # EPOCHREALTIME arithmetic needs a . decimal point
T0=$EPOCHREALTIME
# Test processes run in parallel (pytest-xdist). Most tests wait on PostgreSQL, S3, the registry
# or a browser rather than compute, so more processes than cores pay off; TEST_WORKERS overrides
# (and `scripts/test.sh -n 0` runs in this one process).
WORKERS=${TEST_WORKERS:-3}
# Coverage (`make coverage`, or TEST_COVERAGE=1) traces every line the tests run, which makes the
# suite's CPU-bound parts markedly slower; `make test` leaves it out.
coverage=()
if [[ ${TEST_COVERAGE:-0} == 1 ]]; then
  coverage=(--cov --cov-report=term:skip-covered)
fi

elapsed() {
	local s
	s=$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", b - a + 0.5 }')
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}
# Seconds since $1 (an EPOCHREALTIME), for the phases printed at the end.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }
phases=()

# Debian packages the suite needs; installed only when absent, and only as root.
need=()
for pkg in docker-registry clamav-daemon clamav skopeo chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if (( ${#need[@]} )); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "Missing Debian packages: ${need[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "Installing ${need[*]}"
  t=$EPOCHREALTIME
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  phases+=("packages $(since "$t")")
fi

started=0
if ! scripts/stack.sh is-up >/dev/null 2>&1; then
  started=1
fi
cleanup() {
  local rc=$? t
  if (( started )); then
    t=$EPOCHREALTIME
    scripts/stack.sh down >/dev/null 2>&1 || echo "warning: stack-down failed" >&2
    phases+=("stack down $(since "$t")")
  fi
  local summary="" phase
  for phase in "${phases[@]}"; do summary+="${summary:+, }$phase"; done
  echo "make test: $(elapsed) (exit $rc)${summary:+; $summary}"
  exit $rc
}
trap cleanup EXIT
# Tests run their own Celery worker in-process (against the test database), so the stack's
# worker and beat are not needed here. SeaweedFS at its default 256 MiB cap spends a core-minute
# or two collecting garbage during the suite; at 1 GiB it does not (its resident size stays
# under 700 MB).
t=$EPOCHREALTIME
STACK_CELERY=0 BAILO_PUBLIC_URL="${BAILO_PUBLIC_URL:-http://127.0.0.1:8765}" \
  STACK_SEAWEED_GOMEMLIMIT="${STACK_SEAWEED_GOMEMLIMIT:-1GiB}" scripts/stack.sh up
phases+=("stack up $(since "$t")")

set -a
# shellcheck disable=SC1091
source "$ROOT/.env"
set +a
export BAILO_REQUIRE_STACK=1
# Keep compiled bytecode (and pytest's assertion-rewritten test modules) between processes and
# runs. With PYTHONDONTWRITEBYTECODE set (as some images do), every worker, and every server the
# tests start, compiles whatever has no cached bytecode, and every worker rewrites the asserts of
# every test module: about 6 of the 12 CPU seconds of each worker's collection. The caches are
# __pycache__ directories (ignored by git).
unset PYTHONDONTWRITEBYTECODE
export BAILO_PUBLIC_URL="${BAILO_PUBLIC_URL:-http://127.0.0.1:8765}"

set +e
# xdist's default distribution (load) hands each worker its tests in collection order, where
# pytest-django puts the transactional tests (whose flush removes the seeded rows) after the
# others. Not --dist worksteal: a stolen test can land after a flush and miss the seeds.
t=$EPOCHREALTIME
.venv/bin/pytest -n "$WORKERS" "${coverage[@]}" "$@"
rc=$?
phases+=("pytest $(since "$t")")
set -e
if (( rc == 5 )); then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit $rc
