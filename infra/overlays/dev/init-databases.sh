#!/bin/sh
# Dev only. Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d): one
# database per service, each owned by its own role, and no access for anyone else — so on this shared dev
# server the authorization server's database is closed to the resource server by credentials (the
# NetworkPolicies can only say which pods reach the server; in production the databases are separate servers).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v auth_password="$AUTH_DB_PASSWORD" -v resource_password="$RESOURCE_DB_PASSWORD" <<'SQL'
CREATE ROLE quartet_auth LOGIN PASSWORD :'auth_password';
CREATE ROLE quartet_resource LOGIN PASSWORD :'resource_password';
CREATE DATABASE quartet_auth OWNER quartet_auth;
CREATE DATABASE quartet_resource OWNER quartet_resource;
REVOKE ALL ON DATABASE quartet_auth FROM PUBLIC;
REVOKE ALL ON DATABASE quartet_resource FROM PUBLIC;
SQL
