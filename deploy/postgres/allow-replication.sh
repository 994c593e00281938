#!/bin/sh
# Run once by the postgres image when it creates its data folder (/docker-entrypoint-initdb.d): let the
# optional read replica (docker compose --profile replica) take its base backup and stream from here.
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
