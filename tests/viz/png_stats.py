#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""png_stats.py FILE — decodes an 8-bit RGB/RGBA PNG with the standard
library only and prints: width height distinct_colours nonwhite_fraction
red_pixels, where red is a pure-ish red (the colour of a deadlock edge)."""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("not a PNG")
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if depth != 8 or ctype not in (2, 6):
        raise SystemExit("unsupported PNG: depth %d colour type %d" % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    w, h, bpp, rows = decode(sys.argv[1])
    colours, nonwhite, red, total = set(), 0, 0, 0
    for row in rows[::2]:
        for x in range(0, w * bpp, bpp * 2):
            r, g, b = row[x], row[x + 1], row[x + 2]
            colours.add((r, g, b))
            total += 1
            if r < 245 or g < 245 or b < 245:
                nonwhite += 1
            if r > 200 and g < 60 and b < 60:
                red += 1
    print(w, h, len(colours), "%.4f" % (nonwhite / max(total, 1)), red)


main()
