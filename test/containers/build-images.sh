#!/usr/bin/env bash
# Builds the images the container tests run, with BuildKit on the local Docker engine:
#   quartet/<service>:local     each service's Dockerfile (runtime target; the tags docker-compose.yml uses),
#                               with the OCI label values: version (the service's package.json), revision
#                               (git HEAD, "-dirty" with uncommitted changes), source (git's origin, if any)
#   quartet-test/<name>:local   postgres, redis and haproxy from Debian's packages (the Dockerfiles here)
# Missing base images are made first (make-base-images.sh). Layers are reused between runs and between the
# three service images (their dependency stages are identical), so a second run takes seconds.
#
#   test/containers/build-images.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOCKER_BUILDKIT=1
log() { echo "== build-images: $*"; }
# BuildKit through a client with the buildx plugin or, without it, through Debian's docker.io client (20.10),
# which drives the engine's built-in BuildKit itself when DOCKER_BUILDKIT=1. (A newer client without buildx
# refuses BuildKit builds.)
if docker buildx version >/dev/null 2>&1; then build=(docker build)
elif [ -x /usr/bin/docker ] && [ "$(/usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)" -lt 23 ]; then build=(/usr/bin/docker build)
else echo "build-images: no docker client that builds with BuildKit (install buildx, or Debian's docker.io)" >&2; exit 1
fi

test/containers/make-base-images.sh

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$revision" != unknown ] && [ -n "$(git status --porcelain 2>/dev/null)" ]; then revision="$revision-dirty"; fi
source=$(git config --get remote.origin.url 2>/dev/null || echo unknown)

for name in postgres redis haproxy; do
  log "quartet-test/$name:local"
  "${build[@]}" --quiet -t "quartet-test/$name:local" "test/containers/$name" >/dev/null
done
for service in authorization-server resource-server client-app; do
  version=$(node -p "require('./services/$service/package.json').version")
  log "quartet/$service:local ($version, $revision)"
  "${build[@]}" --quiet -f "services/$service/Dockerfile" --target runtime -t "quartet/$service:local" \
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "SOURCE=$source" . >/dev/null
done
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E '^quartet(-test)?/' | sort
