#!/bin/sh
# Installs the Debian packages given that are not installed yet (a local base image may already
# have them; node:20-bookworm-slim has none of them). Used by the Dockerfile's stages.
set -eu
missing=""
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -z "$missing" ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
rm -rf /var/lib/apt/lists/*
