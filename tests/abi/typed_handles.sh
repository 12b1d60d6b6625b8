#!/usr/bin/env bash
# The 1.1 handle types are distinct: a stream slot given the other kind of
# handle must not compile (C++, and C with -Werror), while the right one does.
#   typed_handles.sh INCLUDE_DIR
set -euo pipefail
inc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
body() {  # $1: the handle passed to writer_write_v2
  cat <<SRC
#include <berth/plugin.h>
int check(const berth_storage_vtable* vt, berth_instance* self, berth_storage_reader* r,
          berth_storage_writer* w);
int check(const berth_storage_vtable* vt, berth_instance* self, berth_storage_reader* r,
          berth_storage_writer* w) {
  (void)r; (void)w;
  return vt->writer_write_v2(self, $1, NULL, "x", 1, NULL);
}
SRC
}
body w > "$tmp/ok.c"
body r > "$tmp/mixed.c"
cp "$tmp/ok.c" "$tmp/ok.cc"
cp "$tmp/mixed.c" "$tmp/mixed.cc"
cc -std=c99 -Wall -Werror -fsyntax-only -I "$inc" "$tmp/ok.c" || { echo "FAIL: the right handle does not compile (C)"; exit 1; }
c++ -Wall -Werror -fsyntax-only -I "$inc" "$tmp/ok.cc" || { echo "FAIL: the right handle does not compile (C++)"; exit 1; }
if cc -std=c99 -Wall -Werror -fsyntax-only -I "$inc" "$tmp/mixed.c" 2>"$tmp/c.err"; then
  echo "FAIL: a reader passed as a writer compiles (C)"; exit 1
fi
grep -q "incompatible pointer type" "$tmp/c.err" || { cat "$tmp/c.err"; echo "FAIL: C refused it for another reason"; exit 1; }
if c++ -fsyntax-only -I "$inc" "$tmp/mixed.cc" 2>"$tmp/cxx.err"; then
  echo "FAIL: a reader passed as a writer compiles (C++)"; exit 1
fi
grep -q "cannot convert" "$tmp/cxx.err" || { cat "$tmp/cxx.err"; echo "FAIL: C++ refused it for another reason"; exit 1; }
echo "typed handles: mixing a reader and a writer does not compile"
