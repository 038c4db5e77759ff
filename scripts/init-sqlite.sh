#!/bin/sh
# Create the embedded SQLite audit database from conf/sql/sqlite.sql unless
# it exists, owned by the user the httpd children run as.
# Usage: init-sqlite.sh DBFILE USER
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
db=$1
user=$2
if [ ! -s "$db" ]; then
    sqlite3 "$db" <"$top/conf/sql/sqlite.sql" >/dev/null
fi
if [ "$(id -u)" -eq 0 ]; then
    chown "$user" "$db" "$(dirname "$db")"
fi
