"""Print the numbers that docs/data.md quotes for the embedded data and the
synthetic subjects: file sizes, generation time per subject, composition.

    PYTHONPATH=. python docs/synth_numbers.py [--runs 7]

Times are medians over `runs` subjects after one warm-up subject (which
also compiles the kernel); the machine it runs on is printed with them.
"""
import argparse
import datetime
import os
import platform
import time

import numba
import numpy as np

from minicnn import datasets
from minicnn.data import SynthGenerator, class_fractions, random_crops, synth


def machine():
    """CPU model, cores and load: the context of every time printed."""
    model = platform.processor() or "?"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        model = names[0] if names else model
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {os.cpu_count()} cores, load {load:.1f}, {platform.system()}"


def package_data():
    """Bytes of every non-Python file under minicnn/ (the 20 MB budget)."""
    package = os.path.dirname(os.path.dirname(datasets.DATA_DIR))
    total = 0
    for folder, dirs, files in os.walk(package):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        total += sum(os.path.getsize(os.path.join(folder, f)) for f in files
                     if not f.endswith(".py"))
    return total


def seconds_per_subject(generator, runs, axis=2):
    generator.slices(0, axis=axis)
    times = []
    for k in range(1, runs + 1):
        start = time.perf_counter()
        generator.slices(k, axis=axis)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), min(times), max(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"{datetime.date.today()}  {machine()}")
    print(f"numpy {np.__version__}, numba {numba.__version__}\n")
    size = os.path.getsize(os.path.join(datasets.DATA_DIR, "icbm152_1mm_tissue.nii.gz"))
    print(f"icbm152_1mm_tissue.nii.gz {size:,} bytes; all package data {package_data():,} bytes\n")
    print("seconds per subject, all axial slices: median (min - max)")
    for resolution in (2, 1):
        template = datasets.icbm152(resolution)
        for name, options in (("defaults", {}), ("train", synth.preset("train")),
                              ("proxy", synth.preset("proxy"))):
            generator = SynthGenerator(template, seed=0, **options)
            median, low, high = seconds_per_subject(generator, args.runs)
            print(f"  {resolution} mm {name:9s} {median:.3f} ({low:.3f} - {high:.3f})")
    print("\nbrain composition CSF / GM / WM (share of brain voxels), 'train', 8 subjects")
    for resolution in (2, 1):
        template = datasets.icbm152(resolution)
        generator = SynthGenerator(template, seed=0, **synth.preset("train"))
        shares = [class_fractions(y, 4)[1:] / (y > 0).mean()
                  for y in (generator.slices(k, axis=2)[1] for k in range(8))]
        print(f"  {resolution} mm template  "
              f"{np.round(class_fractions(template.labels, 4)[1:] / template.mask.mean(), 3)}"
              f"  synthetic {np.round(np.mean(shares, axis=0), 3)}")
    x, y, _ = SynthGenerator(datasets.icbm152(1), seed=0).slices(1, axis=2)
    keep = y.reshape(len(y), -1).any(axis=1)
    start = time.perf_counter()
    crops = random_crops(x[keep], y[keep], 112, seed=0)
    print(f"\n{keep.sum()} 1 mm axial slices -> 112 x 112 crops in "
          f"{time.perf_counter() - start:.3f} s; brain share {(crops[1] > 0).mean():.2f} "
          f"(whole slices {(y[keep] > 0).mean():.2f})")


if __name__ == "__main__":
    main()
