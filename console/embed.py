#!/usr/bin/env python3
"""Embed the console's static files (console/www/) in the binary: writes a C
file with one byte array per file and a table console_assets[] of
{path, content type, bytes, length}, ended by a NULL path.  No Node, no
bundler: the files are served exactly as they are in the source tree.

usage: embed.py OUT.c FILE...
"""
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def main():
    out, files = sys.argv[1], sys.argv[2:]
    lines = ['#include "assets.h"', ""]
    table = []
    for i, path in enumerate(files):
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path)
        ctype = TYPES.get(os.path.splitext(name)[1])
        if ctype is None:
            sys.exit("embed.py: no content type for %s" % name)
        body = ",".join(str(b) for b in data)
        lines.append("static const unsigned char asset_%d[%d] = {%s};" % (i, len(data) + 1,
                                                                         body + ",0" if body else "0"))
        table.append('    { "/%s", "%s", asset_%d, %d },' % (name, ctype, i, len(data)))
    lines.append("const struct console_asset console_assets[] = {")
    lines.extend(table)
    lines.append("    { 0, 0, 0, 0 },")
    lines.append("};")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
