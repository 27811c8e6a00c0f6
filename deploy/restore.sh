#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into an EMPTY database and the configured storage.
#
#   DATABASE_URL=postgresql://…/xometry_restored deploy/restore.sh BACKUP_DIR/db/<stamp>.dump [BACKUP_DIR/blobs]
#
# Refuses a database that already has tables unless RESTORE_INTO_NON_EMPTY=1. Afterwards run
# `flask db upgrade` (if the code is newer) and `flask privacy purge`: erasures due since the
# backup are applied again. Needs the same KEYRING as when the backup was made.
set -euo pipefail
cd "$(dirname "$0")/.."

dump="${1:?usage: restore.sh DUMP [BLOB_DIR]}"
blobs="${2:-}"
: "${DATABASE_URL:?DATABASE_URL is not set}"
PYTHON="${PYTHON:-.venv/bin/python}"
url="${DATABASE_URL/postgresql+psycopg:/postgresql:}"

pg_restore --list "$dump" >/dev/null
tables="$(psql "$url" -XAtq -c "select count(*) from information_schema.tables where table_schema = 'public'")"
if [ "$tables" != "0" ] && [ "${RESTORE_INTO_NON_EMPTY:-0}" != "1" ]; then
  echo "refusing: the target database already has $tables tables (RESTORE_INTO_NON_EMPTY=1 to overwrite)" >&2
  exit 3
fi

pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname "$url" "$dump"
echo "database restored from $dump"

if [ -n "$blobs" ]; then
  "$PYTHON" deploy/sync_blobs.py push "$blobs"
fi
