#!/usr/bin/env bash
# Builds the fast path's eBPF object (native/bpf/tapbond.bpf.o) from its C source with clang.
# The object is committed, so `npm install` needs no clang. `--check` rebuilds into a temporary
# file and fails when the committed object differs from what its source builds to (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
src=native/bpf/tapbond.bpf.c
obj=native/bpf/tapbond.bpf.o
build() {
  clang -O2 -g0 -target bpf -mcpu=v3 -Wall -Werror -I"/usr/include/$(gcc -dumpmachine)" -c "$src" -o "$1"
  # keep only what the loader reads: no address-significance table, no .comment
  llvm-objcopy --remove-section=.llvm_addrsig --remove-section=.comment "$1"
}
if [ "${1:-}" = --check ]; then
  tmp=$(mktemp --suffix=.o)
  trap 'rm -f "$tmp"' EXIT
  build "$tmp"
  if ! cmp -s "$tmp" "$obj"; then
    echo "build-bpf: $obj does not match $src (run npm run build:bpf and commit the object)" >&2
    exit 1
  fi
  echo "build-bpf: $obj matches its source"
else
  build "$obj"
  echo "build-bpf: wrote $obj"
fi
