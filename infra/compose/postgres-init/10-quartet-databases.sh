#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume (docker-entrypoint-initdb.d).
# One database per service, each owned by its own login role (the design's "one database per service":
# the authorization server's role cannot open the resource server's database, and the other way round).
# Passwords come from the compose environment (demo values there); nothing here is secret.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v auth_password="$QUARTET_AUTH_DB_PASSWORD" \
  -v resource_password="$QUARTET_RESOURCE_DB_PASSWORD" <<'SQL'
CREATE ROLE quartet_auth LOGIN PASSWORD :'auth_password';
CREATE DATABASE quartet_auth OWNER quartet_auth;
REVOKE ALL ON DATABASE quartet_auth FROM PUBLIC;

CREATE ROLE quartet_resource LOGIN PASSWORD :'resource_password';
CREATE DATABASE quartet_resource OWNER quartet_resource;
REVOKE ALL ON DATABASE quartet_resource FROM PUBLIC;
SQL
