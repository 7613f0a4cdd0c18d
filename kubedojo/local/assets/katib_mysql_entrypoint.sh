#!/bin/sh
# kubedojo's entrypoint of Katib's database image: Debian's MariaDB in place of MySQL 8.0.29, set up on
# first start as the official MySQL image's entrypoint does from the environment Katib's manifests
# give it: MYSQL_ROOT_PASSWORD (root may connect from any host, with it), MYSQL_DATABASE (created).
# Then the server runs as PID 1 with the Deployment's arguments (--datadir ...), listening on all
# addresses (Debian's configuration binds to 127.0.0.1 only).
set -eu

datadir=/var/lib/mysql
previous=""
for argument in "$@"; do
  case "$argument" in
    --datadir=*) datadir="${argument#--datadir=}" ;;
  esac
  if [ "$previous" = "--datadir" ]; then datadir="$argument"; fi
  previous="$argument"
done

if [ -z "${MYSQL_ROOT_PASSWORD:-}" ]; then
  echo "katib-mysql: MYSQL_ROOT_PASSWORD is not set (the Secret katib-mysql-secrets)" >&2
  exit 1
fi

if [ ! -d "$datadir/mysql" ]; then
  echo "katib-mysql: a new database in $datadir"
  mkdir -p "$datadir"
  mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >/dev/null
  socket=/run/mysqld/setup.sock
  mariadbd --datadir="$datadir" --skip-networking --socket="$socket" &
  server=$!
  for _ in $(seq 60); do
    if mariadb-admin --socket="$socket" --user=root ping >/dev/null 2>&1; then break; fi
    sleep 1
  done
  database="${MYSQL_DATABASE:-katib}"
  mariadb --socket="$socket" --user=root <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '${MYSQL_ROOT_PASSWORD}';
CREATE USER 'root'@'%' IDENTIFIED BY '${MYSQL_ROOT_PASSWORD}';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS \`${database}\`;
FLUSH PRIVILEGES;
SQL
  kill "$server"
  wait "$server" || true
fi

exec mariadbd --bind-address=0.0.0.0 --skip-name-resolve "$@"
