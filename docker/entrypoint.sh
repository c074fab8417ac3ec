#!/bin/sh
# The image's entry point: runs one platform service (or all of them) with the same command as `npm start`.
#   docker run IMAGE                          --service "${SERVICE:-all}"
#   docker run -e SERVICE=identity IMAGE      --service identity
#   docker run IMAGE --service gateway --auth off      arguments are passed on as they are
#   docker run -e SERVICE=gateway IMAGE --auth off     no --service among them: SERVICE (default all) is added
set -eu

# The repository root (this script lives in docker/): tsx and relative settings resolve from there, as with npm start.
app_dir=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$app_dir"

# The reference upstream (the AI services' stand-in model server) is not a platform service: its own program.
if [ "${SERVICE:-}" = reference-upstream ]; then
  exec node --import tsx packages/reference-upstream/src/main.ts
fi

has_service=false
for arg in "$@"; do
  case "$arg" in
    --service | --service=*) has_service=true ;;
  esac
done
if [ "$has_service" = false ]; then
  set -- --service "${SERVICE:-all}" "$@"
fi

# exec: node becomes PID 1 and receives SIGTERM from `docker stop` (main.ts drains and exits).
exec node --import tsx platform/src/main.ts "$@"
