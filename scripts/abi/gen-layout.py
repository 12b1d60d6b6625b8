#!/usr/bin/env python3
"""Writes the frozen-layout check for a released plugin ABI.

Run once when an ABI version is released, never to "fix" a failing check:
  scripts/abi/gen-layout.py 1.0 > tests/abi/layout_v1_0.c
It parses every `typedef struct X {...} X;` in plugin-api/include/berth/plugin.h,
compiles a probe that prints each struct's size and member offsets on this
platform (x86_64 Linux), and emits _Static_asserts that later headers must
keep satisfying: members of a released struct may never move or shrink.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = os.path.join(ROOT, "plugin-api", "include", "berth", "plugin.h")


def structs(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    for m in re.finditer(r"typedef struct (\w+) \{(.*?)\} (\w+);", text, flags=re.S):
        name, body = m.group(3), m.group(2)
        fields = []
        for decl in body.split(";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", decl)
            if fp:
                fields.append(fp.group(1))
                continue
            fields.append(re.findall(r"(\w+)\s*(?:\[[^\]]*\])?$", decl)[0])
        yield name, fields


def main():
    version = sys.argv[1] if len(sys.argv) > 1 else "1.0"
    with open(HEADER) as f:
        all_structs = list(structs(f.read()))
    probe = ['#include <stdio.h>', '#include <stddef.h>', '#include <berth/plugin.h>',
             'int main(void) {']
    for name, fields in all_structs:
        probe.append('  printf("S %s %%zu\\n", sizeof(%s));' % (name, name))
        for fld in fields:
            probe.append('  printf("F %s %s %%zu\\n", offsetof(%s, %s));' % (name, fld, name, fld))
    probe.append("  return 0;\n}")
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "probe.c"), os.path.join(d, "probe")
        with open(src, "w") as f:
            f.write("\n".join(probe))
        subprocess.check_call(["cc", "-std=c99", "-I", os.path.join(ROOT, "plugin-api", "include"),
                               src, "-o", exe])
        out = subprocess.check_output([exe]).decode()
    tag = version.replace(".", "_")
    print("/* Frozen layout of plugin ABI %s (x86_64, LP64). Generated once by" % version)
    print(" * scripts/abi/gen-layout.py when %s was released; never edit or regenerate." % version)
    print(" * A later header must still satisfy every assertion: members may only be")
    print(" * appended, so sizes may grow but no offset may change. */")
    print("#include <stddef.h>\n#include <berth/plugin.h>\n")
    print("#if defined(__x86_64__) && defined(__LP64__)")
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "S":
            print('_Static_assert(sizeof(%s) >= %s, "%s shrank");' % (parts[1], parts[2], parts[1]))
        else:
            print('_Static_assert(offsetof(%s, %s) == %s, "%s.%s moved");' %
                  (parts[1], parts[2], parts[3], parts[1], parts[2]))
    print("#endif\n")
    print("int berth_abi_layout_v%s_checked(void) { return 1; }" % tag)


if __name__ == "__main__":
    main()
