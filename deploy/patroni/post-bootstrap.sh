#!/bin/sh
# Patroni runs this once, on the node that created the cluster, with a connection URL as $1:
# the application's role and database (docker-compose.yml's DATABASE_URL names them).
set -eu
psql "$1" -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE cinema LOGIN PASSWORD 'cinema'" \
  -c "CREATE DATABASE cinema OWNER cinema"
