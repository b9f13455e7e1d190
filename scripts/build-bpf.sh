#!/usr/bin/env bash
# Builds the fast path's eBPF object (native/bpf/tapbond.bpf.o), and the example classifier
# examples/queue-by-mark.bpf.o, from their C sources with clang. The objects are committed, so
# `npm install` needs no clang. `--check` rebuilds into a temporary file and fails when a
# committed object differs from what its source builds to (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
build() {
  clang -O2 -g0 -target bpf -mcpu=v3 -Wall -Werror -I"/usr/include/$(gcc -dumpmachine)" -c "$1" -o "$2"
  # keep only what the loaders read: no address-significance table, no .comment
  llvm-objcopy --remove-section=.llvm_addrsig --remove-section=.comment "$2"
}
tmp=$(mktemp --suffix=.o)
trap 'rm -f "$tmp"' EXIT
for src in native/bpf/tapbond.bpf.c examples/queue-by-mark.bpf.c; do
  obj=${src%.c}.o
  if [ "${1:-}" = --check ]; then
    build "$src" "$tmp"
    if ! cmp -s "$tmp" "$obj"; then
      echo "build-bpf: $obj does not match $src (run npm run build:bpf and commit the object)" >&2
      exit 1
    fi
    echo "build-bpf: $obj matches its source"
  else
    build "$src" "$obj"
    echo "build-bpf: wrote $obj"
  fi
done
