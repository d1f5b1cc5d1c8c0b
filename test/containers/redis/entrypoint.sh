#!/bin/sh
# redis-server without a configuration file would refuse clients from other containers (protected mode);
# the official image turns that off too, and the container's network is what protects it.
set -eu
if [ "$1" = redis-server ]; then shift; set -- redis-server --protected-mode no --bind '* -::*' "$@"; fi
exec "$@"
