"""Train the model that ships in this folder, or check that a rebuild agrees.

    python -m minicnn.pretrained.build              # train, export here, record BUILD.json
    python -m minicnn.pretrained.build --verify     # train again elsewhere, compare

The recipe is one ``minicnn train`` command (COMMAND below): the course
U-Net at 1 mm, trained on 112 x 112 crops of slices along all three views
of synthetic subjects, seed 0. The trained weights are exported as float16
(``pretrained.export``) with the template's notice, and BUILD.json records
the command, the SHA-256 of the float32 weights and of the shipped file,
the held-out Dice that ``minicnn train`` measured, the time it took and
the machine.

Rebuilding. The same seed gives the same bits only on the same BLAS, CPU
kernels and thread count: a GEMM's summation order, and so its rounding,
depends on all three, and training amplifies a last-bit difference into
different weights. So ``--verify`` does not require the checksum to match
(it reports whether it does); it requires every held-out Dice of the
rebuild (synthetic subjects and template, each class) to be within
DICE_TOLERANCE of the recorded one. Rebuild the shipped model whenever the
kernels or the loss semantics change.
"""
import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

from .. import __version__
from ..segmentation import write_json
from . import DIRECTORY, export

COMMAND = ["train", "--resolution", "1", "--views", "all", "--epochs", "8",
           "--seed", "0"]
DICE_TOLERANCE = 0.01
RECORD = "BUILD.json"


def sha256(path):
    """Hex SHA-256 of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cpu_name():
    """The CPU's model name (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def train(out):
    """Run COMMAND into `out`, as a command (a child process: this script
    builds an artefact with the command line, it is not library code);
    return its metrics.json content."""
    status = subprocess.run([sys.executable, "-m", "minicnn", *COMMAND, "--out", out]).returncode
    if status != 0:
        raise SystemExit(f"minicnn {' '.join(COMMAND)} failed with status {status}")
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as f:
        return json.load(f)


def heldout_dice(metrics):
    """{dataset: {class: Dice}} from a metrics.json."""
    return {name: scores["dice"] for name, scores in metrics["heldout"].items()}


def build(out, folder=DIRECTORY):
    """Train into `out`, export the weights into `folder` (this package's by
    default) and write BUILD.json beside them; return the record."""
    start = time.perf_counter()
    metrics = train(out)
    trained = os.path.join(out, "model.npz")
    shipped = export(trained, folder)
    record = {
        "command": ["minicnn"] + COMMAND,
        "minicnn": __version__, "numpy": np.__version__,
        "numba": _version("numba"), "python": platform.python_version(),
        "platform": platform.platform(), "cpu": cpu_name(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "threads": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "sha256_float32_weights": sha256(trained),
        "sha256_shipped_weights": sha256(shipped),
        "heldout_dice": heldout_dice(metrics),
        "heldout_subjects": metrics["recipe"]["test_subjects"],
        "dice_tolerance": DICE_TOLERANCE,
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_json(os.path.join(folder, RECORD), record)
    print(f"exported {shipped}; recorded {RECORD} (sha256 {record['sha256_shipped_weights']})")
    return record


def verify(out, folder=DIRECTORY):
    """Train again into `out` and compare with `folder`'s BUILD.json; return 0
    if every held-out Dice is within DICE_TOLERANCE of the recorded one, else 1."""
    with open(os.path.join(folder, RECORD), encoding="utf-8") as f:
        record = json.load(f)
    if record["command"] != ["minicnn"] + COMMAND:
        print(f"the recorded command {record['command']} is not this script's "
              f"{['minicnn'] + COMMAND}: rebuild with python -m minicnn.pretrained.build")
        return 1
    rebuilt = heldout_dice(train(out))
    same_bits = sha256(os.path.join(out, "model.npz")) == record["sha256_float32_weights"]
    print(f"weights {'identical' if same_bits else 'not bit-identical'} to the recorded "
          f"build ({record['cpu']}, {record['date']})")
    worst = 0.0
    for dataset, recorded in record["heldout_dice"].items():
        for name, value in recorded.items():
            gap = abs(rebuilt[dataset][name] - value)
            worst = max(worst, gap)
            print(f"  {dataset:<20} {name:<4} recorded {value:.4f} rebuilt "
                  f"{rebuilt[dataset][name]:.4f} (|gap| {gap:.4f})")
    agrees = worst <= DICE_TOLERANCE
    print(f"largest gap {worst:.4f}: {'within' if agrees else 'OUTSIDE'} the tolerance "
          f"{DICE_TOLERANCE}")
    return 0 if agrees else 1


def _version(module):
    try:
        return __import__(module).__version__
    except ImportError:
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minicnn.pretrained.build",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--verify", action="store_true",
                        help="train again and compare held-out Dice with BUILD.json")
    parser.add_argument("--out", default=None,
                        help="folder for the training run (default: a temporary one)")
    args = parser.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="minicnn-pretrained-")
    if args.verify:
        return verify(out)
    build(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
