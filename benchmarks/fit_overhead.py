"""How much of a training step of the main job is fit's own work.

    python benchmarks/fit_overhead.py [--steps 12]

Runs ``model.fit`` on the main job's network and loss (``models.unet((80,
96, 1), 4)``, Adam, cross-entropy + Dice from the logits, accuracy and
three per-class Dice metrics, batches of 4 random slices) under cProfile
and prints the cumulative time of each part of ``fit``: the network's
forward and backward passes, the loss, the metrics, the optimizer, and
whatever is left (batch assembly, the loop, callbacks). One untimed epoch
first compiles the Numba kernels. cProfile's own overhead falls on every
Python call, so the shares of the small parts are upper bounds.
"""
import argparse
import cProfile
import pstats

import numpy as np

import minicnn
from minicnn import losses, metrics, models, optimizers

# (label, file suffix, function name) of the calls whose cumulative time makes a part
PARTS = [("network forward", "models/model.py", "forward"),
         ("network backward", "models/model.py", "backward"),
         ("loss", "models/training.py", "_loss_value"),
         ("loss backward", "losses/base.py", "backward"),
         ("metrics", "models/training.py", "_update_metrics"),
         ("optimizer", "minicnn/optimizers.py", "apply_gradients")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=12, help="timed steps (default 12)")
    args = parser.parse_args(argv)
    minicnn.set_random_seed(0)
    model = models.unet((80, 96, 1), 4)
    model.compile(optimizer=optimizers.Adam(1e-3),
                  loss=losses.WeightedSum([losses.CategoricalCrossentropy(), losses.Dice()]),
                  metrics=["accuracy"] + [metrics.Dice(n_classes=4, class_ids=(c,),
                                                       name=f"dice_{c}") for c in (1, 2, 3)])
    rng = np.random.default_rng(0)
    n = 4 * args.steps
    x = rng.random((n, 80, 96, 1), dtype=np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, 80, 96))]
    model.fit(x[:8], y[:8], batch_size=4, epochs=1, verbose=0)        # compiles
    profile = cProfile.Profile()
    profile.runcall(model.fit, x, y, batch_size=4, epochs=1, verbose=0)
    stats = pstats.Stats(profile).stats
    fit = next(ct for (f, _, fn), (_, _, _, ct, _) in stats.items()
               if f.endswith("models/training.py") and fn == "fit")
    print(f"model.fit, {args.steps} steps of the main job's network: {fit:.2f} s")
    accounted = 0.0
    for label, suffix, name in PARTS:
        seconds = sum(ct for (f, _, fn), (_, _, _, ct, _) in stats.items()
                      if f.endswith(suffix) and fn == name)
        accounted += seconds
        print(f"  {label:<18}{seconds:8.2f} s {100 * seconds / fit:6.1f} %")
    rest = fit - accounted
    print(f"  {'the rest of fit':<18}{rest:8.2f} s {100 * rest / fit:6.1f} %")
    overhead = fit - sum(ct for (f, _, fn), (_, _, _, ct, _) in stats.items()
                         if f.endswith("models/model.py")
                         and fn in ("forward", "backward"))
    print(f"fit's own work (all but the network's passes): {100 * overhead / fit:.1f} % "
          "(target < 10 %)")


if __name__ == "__main__":
    main()
