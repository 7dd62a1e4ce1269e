#!/usr/bin/python3
"""Writes the corpus of bench/image_corpus.sh (which fetches the sources and calls this).

usage: image_corpus.py SOURCES_TSV DIR
SOURCES_TSV: lines "package<TAB>path<TAB>short name". Writes DIR/small, DIR/large and
DIR/manifest.tsv (see bench/image_corpus.sh). Environment: SMALL_BYTES, LARGE_BYTES,
LARGE_COUNT, QUALITY, PACKAGE_VERSIONS (only for the manifest's header).

Deterministic: no randomness, sources in the order given, every encode with fixed settings.
"""
import io
import os
import sys

import PIL
from PIL import Image, ImageOps, features

QUALITY = int(os.environ.get("QUALITY", "75"))
SMALL_BYTES = int(os.environ.get("SMALL_BYTES", "10240"))
LARGE_BYTES = int(os.environ.get("LARGE_BYTES", "153600"))
LARGE_COUNT = int(os.environ.get("LARGE_COUNT", "20"))
# Long side of the output, in steps of 8 (so the short side, 3/4 of it, is a multiple of 6:
# both even, and halving them is exact for every distiller).
SMALL_LONG = (160, 640)
LARGE_LONG = (640, 2048)
LARGE_MIN_SOURCE_LONG = 1600
# Where the detail crops are centred (fractions of the picture), cycled over the sources.
DETAIL_CENTRES = [(0.35, 0.40), (0.65, 0.55), (0.45, 0.65), (0.55, 0.35)]
DETAIL_MIN_LONG = 320


def load(path):
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    return im.convert("L" if im.mode in ("L", "I", "I;16") else "RGB")


def crop(im, frac, centre):
    """The largest 4:3 (3:4 for a portrait picture) box in im, scaled by frac, around centre."""
    w, h = im.size
    portrait = h > w
    aw, ah = (3, 4) if portrait else (4, 3)
    unit = min(w // aw, h // ah)
    cw, ch = int(aw * unit * frac), int(ah * unit * frac)
    x = min(max(int(centre[0] * w - cw / 2), 0), w - cw)
    y = min(max(int(centre[1] * h - ch / 2), 0), h - ch)
    return im.crop((x, y, x + cw, y + ch)), portrait


def shrink_for(im, max_long):
    """An integer box reduction that keeps at least twice max_long (speeds up the search)."""
    n = max(1, max(im.size) // (2 * max_long))
    return im.reduce(n) if n > 1 else im


def encode(im, long_side, portrait):
    short = long_side * 3 // 4
    size = (short, long_side) if portrait else (long_side, short)
    out = im.resize(size, Image.LANCZOS)
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=QUALITY, subsampling=2, optimize=False, progressive=False)
    return buf.getvalue(), size


def fit(im, portrait, target, long_range):
    """The encode whose size is closest to target, over long sides in steps of 8 within
    long_range and never larger than im (no upscaling)."""
    lo_long, hi_long = long_range
    hi_long = min(hi_long, max(im.size) // 8 * 8)
    if hi_long < lo_long:
        return None
    work = shrink_for(im, hi_long)
    lo, hi = lo_long // 8, hi_long // 8
    cache = {}

    def at(k):
        if k not in cache:
            cache[k] = encode(work, 8 * k, portrait)
        return cache[k]

    # Largest k whose file is <= target (sizes grow with k, near enough), then the closer of
    # it and the next one.
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(at(mid)[0]) <= target:
            lo = mid
        else:
            hi = mid - 1
    best = min({lo, min(lo + 1, hi_long // 8)}, key=lambda k: (abs(len(at(k)[0]) - target), k))
    return at(best)


def main():
    sources_tsv, out_dir = sys.argv[1], sys.argv[2]
    sources = []
    for line in open(sources_tsv):
        pkg, path, name = line.rstrip("\n").split("\t")
        sources.append((pkg, path, name))
    os.makedirs(os.path.join(out_dir, "small"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "large"), exist_ok=True)
    rows = []

    def write(set_name, name, data, size, pkg, path):
        rel = f"{set_name}/{name}.jpg"
        with open(os.path.join(out_dir, rel), "wb") as f:
            f.write(data)
        src = f"{pkg}:/{path.split('/' + pkg + '/', 1)[1]}"
        rows.append((set_name, rel, len(data), size[0], size[1], QUALITY, src))

    by_package = {}
    for i, (pkg, path, name) in enumerate(sources):
        im = load(path)
        full, portrait = crop(im, 1.0, (0.5, 0.5))
        r = fit(full, portrait, SMALL_BYTES, SMALL_LONG)
        if r:
            write("small", f"{name}-full", r[0], r[1], pkg, path)
        detail, _ = crop(im, 0.5, DETAIL_CENTRES[i % len(DETAIL_CENTRES)])
        if max(detail.size) >= DETAIL_MIN_LONG:
            r = fit(detail, portrait, SMALL_BYTES, SMALL_LONG)
            if r:
                write("small", f"{name}-detail", r[0], r[1], pkg, path)
        if max(full.size) >= LARGE_MIN_SOURCE_LONG:
            by_package.setdefault(pkg, []).append((pkg, path, name, full, portrait))
        print(f"  {name}: {im.size[0]}x{im.size[1]} {im.mode}", file=sys.stderr)

    # The large set: sources taken in turn from each package, in the given order.
    queues = [list(v) for v in by_package.values()]
    picked = []
    while len(picked) < LARGE_COUNT and any(queues):
        for q in queues:
            if q and len(picked) < LARGE_COUNT:
                picked.append(q.pop(0))
    for pkg, path, name, full, portrait in picked:
        r = fit(full, portrait, LARGE_BYTES, LARGE_LONG)
        if r:
            write("large", name, r[0], r[1], pkg, path)

    with open(os.path.join(out_dir, "manifest.tsv"), "w") as f:
        f.write("# bench/image_corpus.sh: photos from Debian packages, re-encoded deterministically\n")
        f.write(f"# packages: {os.environ.get('PACKAGE_VERSIONS', '?')}\n")
        f.write(f"# encoder: Pillow {PIL.__version__}, libjpeg {features.version('jpg')}; "
                f"quality {QUALITY}, 4:2:0, baseline, Lanczos scaling\n")
        f.write("set\tfile\tbytes\twidth\theight\tquality\tsource\n")
        for row in rows:
            f.write("\t".join(str(c) for c in row) + "\n")

    for set_name in ("small", "large"):
        sel = [r for r in rows if r[0] == set_name]
        if not sel:
            continue
        b = sorted(r[2] for r in sel)
        px = [r[3] * r[4] for r in sel]
        print(f"{set_name}: {len(sel)} images, bytes mean {sum(b) / len(b):,.0f} "
              f"(min {b[0]:,}, median {b[len(b) // 2]:,}, max {b[-1]:,}), "
              f"mean {sum(px) / len(px) / 1000:,.0f} kpixels", file=sys.stderr)


if __name__ == "__main__":
    main()
