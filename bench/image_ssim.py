#!/usr/bin/python3
"""SSIM of distilled images against their originals (bench/image_peers.sh).

usage: image_ssim.py CORPUS_DIR SET OUT_DIR
For every row of SET in CORPUS_DIR/manifest.tsv, reads OUT_DIR/<file name> (the distilled
image), scales the original down to the distilled image's size (Pillow's Lanczos, in one
step), and computes SSIM on luma (ITU-R 601, Pillow's "L"): Wang et al. 2004, 11x11 Gaussian
window with sigma 1.5, K1 0.01, K2 0.03, L 255, mean over the window positions that fit.
Prints one line: "n=.. missing=.. ssim_mean=.. ssim_min=.. out_bytes_mean=.. in_bytes_mean=..
half_size=.." (half_size: how many outputs are exactly half the original's width and
height, rounded up).

numpy only (no scipy): Debian's python3-numpy and python3-pil.
"""
import os
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image


def gaussian(size=11, sigma=1.5):
    x = np.arange(size) - (size - 1) / 2
    k = np.exp(-(x * x) / (2 * sigma * sigma))
    return k / k.sum()


KERNEL = gaussian()


def blur(a):
    """Separable Gaussian filter, 'valid' region only."""
    a = sliding_window_view(a, KERNEL.size, axis=1) @ KERNEL
    return sliding_window_view(a, KERNEL.size, axis=0) @ KERNEL


def ssim(x, y):
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def main():
    corpus, set_name, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    scores, out_bytes, in_bytes = [], [], []
    missing = half = 0
    for line in open(os.path.join(corpus, "manifest.tsv")):
        if line.startswith("#") or line.startswith("set\t"):
            continue
        cols = line.rstrip("\n").split("\t")
        if cols[0] != set_name:
            continue
        orig_path = os.path.join(corpus, cols[1])
        out_path = os.path.join(out_dir, os.path.basename(cols[1]))
        if not os.path.exists(out_path) or os.path.getsize(out_path) == 0:
            missing += 1
            continue
        orig = Image.open(orig_path)
        out = Image.open(out_path)
        if out.size == ((orig.size[0] + 1) // 2, (orig.size[1] + 1) // 2):
            half += 1
        ref = orig.convert("L").resize(out.size, Image.LANCZOS)
        scores.append(ssim(np.asarray(ref), np.asarray(out.convert("L"))))
        out_bytes.append(os.path.getsize(out_path))
        in_bytes.append(os.path.getsize(orig_path))
    if not scores:
        print(f"n=0 missing={missing}")
        return
    print(f"n={len(scores)} missing={missing} ssim_mean={np.mean(scores):.4f} "
          f"ssim_min={np.min(scores):.4f} out_bytes_mean={np.mean(out_bytes):.0f} "
          f"in_bytes_mean={np.mean(in_bytes):.0f} half_size={half}")


if __name__ == "__main__":
    main()
