"""The tiny training run the command-line tests share.

TINY is the smallest `minicnn train` that writes every output: a small U-Net,
one epoch on 6 slices of one synthetic subject, one validation and one
held-out subject, on the numpy backend. The session-scoped fixture
``tiny_training`` in conftest.py runs it once for test_cli.py and
test_cli_predict.py; the tests that use it are in the slow set.
"""
import minicnn
from minicnn import rng
from minicnn.cli import main

TINY = ["--model", "unet-small", "--epochs", "1", "--subjects", "1", "--val-subjects", "1",
        "--test-subjects", "1", "--slices", "6", "--batch-size", "4", "--backend", "numpy"]


def train_tiny(out, *extra):
    """Run TINY into `out`; return the exit status. The command sets the
    backend and reseeds the global generator: both are put back."""
    backend, generator = minicnn.get_backend(), rng._global["rng"]
    try:
        return main(["train", *TINY, "--out", str(out), *extra])
    finally:
        minicnn.set_backend(backend)
        rng._global["rng"] = generator
