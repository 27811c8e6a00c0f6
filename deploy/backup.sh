#!/usr/bin/env bash
# Back up xometry.asia: the PostgreSQL database (pg_dump custom format) and the encrypted blobs.
#
#   DATABASE_URL=postgresql://… BACKUP_DIR=/var/backups/xometry deploy/backup.sh
#
# Reads the site's environment (STORAGE_BACKEND, S3_*, STORAGE_LOCAL_ROOT) to find the blobs.
# Writes BACKUP_DIR/db/<UTC stamp>.dump and syncs BACKUP_DIR/blobs/ (ciphertext, new ids only);
# dumps older than BACKUP_KEEP_DAYS (default 30) are removed: an erased account must not live on
# in backups for longer than the policy says. The key ring is NOT in here: back it up separately.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DATABASE_URL:?DATABASE_URL is not set}"
BACKUP_DIR="${BACKUP_DIR:-/var/backups/xometry}"
KEEP_DAYS="${BACKUP_KEEP_DAYS:-30}"
PYTHON="${PYTHON:-.venv/bin/python}"
url="${DATABASE_URL/postgresql+psycopg:/postgresql:}"   # libpq does not know SQLAlchemy's driver

umask 077
mkdir -p "$BACKUP_DIR/db" "$BACKUP_DIR/blobs"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
dump="$BACKUP_DIR/db/$stamp.dump"

# One consistent snapshot of the database, written under a temporary name, then renamed.
pg_dump --format=custom --compress=6 --no-owner --no-privileges --file "$dump.part" "$url"
pg_restore --list "$dump.part" >/dev/null   # the archive is readable
mv "$dump.part" "$dump"
echo "database: $dump ($(du -h "$dump" | cut -f1))"

# Blobs after the dump: every blob a dumped row names was committed before its row.
"$PYTHON" deploy/sync_blobs.py pull "$BACKUP_DIR/blobs"

find "$BACKUP_DIR/db" -name '*.dump' -mtime +"$KEEP_DAYS" -print -delete
