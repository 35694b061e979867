#!/usr/bin/env python3
"""header_map: checks that every header's file map is true (make lint).

A daemon's header groups its prototypes under headings such as
"/* ---- store.c, store_write.c: ... ---- */". Each function declared
under a heading must be defined in one of the .c files the heading names.
A header in lib/ without headings maps to its own stem: lib/http.h's
functions are defined in lib/http.c or lib/http_*.c. Prints each function
that sits elsewhere, and exits 1 if there is one.
"""
import glob
import os
import re
import sys

HEADING = re.compile(r"^/\* ---- (.*?) ---- \*/")
CFILE = re.compile(r"\b([\w]+\.c)\b")
# a prototype: a line (or run of lines) ending in ");" whose name is the
# identifier before the first "(" that is not a function-pointer typedef
PROTO = re.compile(r"^(?!typedef|#|\s|/\*|\*)[^;{}()]*?\b([a-z_][a-z0-9_]*)\s*\(", re.M)
DEF = re.compile(r"^([a-z_][a-z0-9_]*)\s*\(", re.M)


def definitions(folder):
    """{function name: file name} of the functions defined in folder/*.c."""
    where = {}
    for c in sorted(glob.glob(os.path.join(folder, "*.c"))):
        text = open(c, encoding="utf-8").read()
        for m in DEF.finditer(text):
            # a definition's name starts a line, after its return type's line
            prev = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            if prev.startswith(("static", "#", " ", "\t", "/*", "*")) or prev.endswith(";"):
                continue
            where.setdefault(m.group(1), os.path.basename(c))
    return where


def prototypes(header):
    """[(name, heading or None, line)] of the functions header declares."""
    out, heading = [], None
    lines = open(header, encoding="utf-8").read().split("\n")
    stmt, start = "", 0
    for i, line in enumerate(lines, 1):
        m = HEADING.match(line)
        if m:
            heading = m.group(1)
            stmt = ""
            continue
        if not stmt:
            start = i
        stmt += line + "\n"
        if line.rstrip().endswith(";") or line.strip() == "" or line.startswith(("#", "/*", " *")):
            s = stmt
            stmt = ""
            if not s.rstrip().endswith(";") or "(" not in s:
                continue
            if re.match(r"^\s*(typedef|struct\s+\w+\s*;|extern\s+const)", s):
                continue
            p = PROTO.match(s)
            if p and not re.match(r"[^(]*\(\s*\*", s):  # not a function pointer
                out.append((p.group(1), heading, start))
    return out


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(root)
    bad = 0
    headers = sorted(glob.glob("lib/*.h") + glob.glob("services/*/*.h"))
    for h in headers:
        folder = os.path.dirname(h)
        where = definitions(folder)
        stem = os.path.basename(h)[:-2]
        if stem.endswith("_int"):  # lib/http_int.h: http.c and http_*.c
            stem = stem[: -len("_int")]
        for name, heading, line in prototypes(h):
            if name not in where:
                continue  # a macro-made or inline name, or defined elsewhere
            got = where[name]
            if heading is not None:
                allowed = set(CFILE.findall(heading))
                if not allowed:
                    continue  # a heading about settings or state names no file
            elif folder == "lib":
                allowed = {f for f in set(where.values())
                           if f == stem + ".c" or f.startswith(stem + "_")}
            else:
                continue
            if got not in allowed:
                bad += 1
                print("%s:%d: %s is defined in %s, not %s" %
                      (h, line, name, got, " or ".join(sorted(allowed)) or "a file of its stem"))
    if bad:
        print("header_map: %d functions sit outside the files their header names" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
