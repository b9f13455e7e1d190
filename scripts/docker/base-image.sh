#!/usr/bin/env bash
# Builds the local base image the Dockerfile starts FROM when no registry is reachable, the
# counterpart of node:20-bookworm-slim: Debian bookworm minbase (debootstrap, from the mirror apt
# already uses) plus this machine's Node.js package files (the Debian archive has Node 18;
# tapbond needs 20). The Dockerfile's stages add what each needs with apt.
# Output: a tarball cached in $TAPBOND_DOCKER_CACHE, ready for `docker import` (with
# npm_config_nodedir=/usr: node-gyp finds the headers there instead of downloading them).
# With a registry, none of this is needed: the Dockerfile defaults to node:20-bookworm-slim.
set -euo pipefail
CACHE=${TAPBOND_DOCKER_CACHE:-/var/cache/tapbond-docker}
TAR=$CACHE/base-bookworm-node20-v4.tar
[[ -s $TAR ]] && { echo "$TAR"; exit 0; }
command -v debootstrap >/dev/null || { echo "base-image: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
command -v node >/dev/null && dpkg -S "$(readlink -f "$(command -v node)")" >/dev/null 2>&1 \
  || { echo "base-image: node is not from a Debian package here; cannot copy it into the base" >&2; exit 1; }
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
mkdir -p "$CACHE"
ROOT=$(mktemp -d "$CACHE/rootfs.XXXXXX")
trap 'rm -rf "$ROOT" "$TAR.tmp"' EXIT
timeout 900 debootstrap --variant=minbase \
  --include=ca-certificates \
  bookworm "$ROOT" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
# the Node.js package's own files (node, npm, headers for node-gyp)
pkg=$(dpkg -S "$(readlink -f "$(command -v node)")" | cut -d: -f1)
dpkg -L "$pkg" | while read -r f; do [[ -f $f || -L $f ]] && printf '%s\n' "${f#/}"; done | tar -C / -cf - -T - | tar -C "$ROOT" -xf -
# npm as it is now (it may have been upgraded in place since the package was installed)
npmdir=$(dirname "$(readlink -f "$(command -v npm)")")/..
rm -rf "$ROOT/usr/lib/node_modules/npm" && mkdir -p "$ROOT/usr/lib/node_modules" && cp -a "$(readlink -f "$npmdir")" "$ROOT/usr/lib/node_modules/npm"
cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/" 2>/dev/null || true
# this machine's local certificate authorities (e.g. for an egress proxy) so that npm and apt in
# the build trust what the host trusts; node reads them through NODE_EXTRA_CA_CERTS (test.sh)
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
  chroot "$ROOT" update-ca-certificates >/dev/null 2>&1
fi
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
tar -C "$ROOT" -cf "$TAR.tmp" . && mv "$TAR.tmp" "$TAR"
echo "$TAR"
