#!/usr/bin/env bash
# The whole test suite, as `make test` (and so CI) runs it: ruff, then pytest on SQLite and, when
# D2W_TEST_DATABASE_URL is set, the same suite on PostgreSQL but for the browser journeys. The two
# runs go side by side (one per core), each with its own temporary folder; each run's output is
# printed when both are done.
# Extra arguments go to both pytest runs, e.g. scripts/test.sh -k seatfit
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

$BIN/ruff check . || exit 1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)

# Redis-backed tests run once, with PostgreSQL (two runs must not share the Redis database).
env -u D2W_TEST_DATABASE_URL -u D2W_TEST_REDIS_URL \
  $BIN/pytest --basetemp="$work/sqlite" -p no:cacheprovider "$@" >"$work/sqlite.log" 2>&1 &
sqlite_pid=$!
pg_pid=""
if [ -n "${D2W_TEST_DATABASE_URL:-}" ]; then
  # The browser journeys run once, in the SQLite pass: they test pages, and everything they do
  # reaches the database through the same services that the PostgreSQL pass tests.
  $BIN/pytest --basetemp="$work/postgres" -p no:cacheprovider -m "not browser" "$@" >"$work/postgres.log" 2>&1 &
  pg_pid=$!
fi

status=0
wait "$sqlite_pid" || status=1
echo "== the suite on SQLite"
cat "$work/sqlite.log"
if [ -n "$pg_pid" ]; then
  wait "$pg_pid" || status=1
  echo "== the same suite on PostgreSQL ($D2W_TEST_DATABASE_URL)"
  cat "$work/postgres.log"
fi
echo "== tests took $(( $(date +%s) - started )) s in all; $([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status
