#!/bin/sh
# kubedojo's entrypoint of its MinIO image: run the command the chart gives (minio server ...).
set -e
exec "$@"
