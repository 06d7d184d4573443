"""Print the numbers docs/train.md quotes for ``minicnn predict --refine``:
Dice per class and volumes of the shipped 1 mm network, plain and refined
by the subject's intensities (``minicnn.segmentation.refine``), for several
prior weights w and Gaussians per tissue.

    PYTHONPATH=. python docs/refine_numbers.py [--cache DIR] [--cache-only] [--quick]

Sets (1 mm, whole volumes, the three views of the shipped model averaged,
as ``minicnn predict`` runs it; subjects from ``SynthGenerator(template,
seed=0, ...)`` as ``minicnn train --resolution 1`` makes them):

    tuning (w and the Gaussians are chosen on these alone)
      validation        subjects 1000, 1001, the 'train' preset (the training
                        distribution; validation ids, never trained on)
      validation sharp  the same brains, class contrast, no blur, no thick slices
    reported
      held-out          subjects 2000-2003, 'train' preset (BUILD.json's set)
      template          the ICBM152 1 mm T1 and its labels
      sharp             subjects 2000-2003 acquired sharper than any training
                        image: class contrast (random CSF, GM, WM intensities),
                        no point spread and no thick slices (max_blur 0,
                        max_thickness 0); the same anatomy, bias and noise
      sharp, no bias    subjects 2000, 2001 as 'sharp' without the bias field
                        (bias_std 0): what is left when only the intensities'
                        own spread and noise blur the classes
      T1 gamma 0.5, 2   subjects 2000, 2001 in T1 contrast I = T1^g with g
                        forced to 0.5 or 2 (training: log g ~ N(0, 0.25^2), so
                        g in 0.61 .. 1.63 for 95 % of subjects): a flatter and
                        a steeper contrast than any trained on
      proxy             subjects 2000, 2001 of the 'proxy' preset: stronger,
                        lower-frequency bias (sd 0.5), slices up to 5 mm, blur
                        up to 1 mm

The choice: the setting with the highest mean Dice over CSF, GM and WM,
averaged over the two tuning sets. Every setting is then reported on every
set. The network's probabilities are computed once per volume and cached
in --cache (the slow part: a three-view 1 mm pass per volume); the fits
are redone each run. --quick: one subject per set, two settings.
"""
import argparse
import dataclasses
import datetime
import os
import platform
import time

import numpy as np

from minicnn import data, datasets, files, mixture, pretrained, segmentation
from minicnn.data import synth
from minicnn.segmentation import refine, scoring

CLASSES = ("CSF", "GM", "WM")
SHARP = dict(intensity="classes", max_thickness=0.0, max_blur=0.0)
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
COMPONENTS = (1, 2)


class FixedGamma(data.SynthGenerator):
    """The 'train' subjects in T1 contrast with one gamma for all."""

    def __init__(self, template, gamma, **options):
        super().__init__(template, **options)
        self.gamma = gamma

    def params(self, k):
        return dataclasses.replace(super().params(k), gamma=self.gamma, contrast="t1")


def sets(template, quick):
    """name -> (tuning?, [(key, make volume)]) of every set."""
    train = synth.preset("train")

    def subjects(generator, ids, tag):
        return [(f"{tag}-{k}", (lambda k=k: generator.volume(k, axis=2))) for k in ids]

    few = (lambda ids: ids[:1]) if quick else (lambda ids: ids)
    gen = {"train": data.SynthGenerator(template, seed=0, **train),
           "sharp": data.SynthGenerator(template, seed=0, **dict(train, **SHARP)),
           "flat": data.SynthGenerator(template, seed=0,
                                       **dict(train, **SHARP, bias_std=0.0)),
           "gamma0.5": FixedGamma(template, 0.5, seed=0, **train),
           "gamma2": FixedGamma(template, 2.0, seed=0, **train),
           "proxy": data.SynthGenerator(template, seed=0, **synth.preset("proxy"))}
    return {
        "validation": (True, subjects(gen["train"], few([1000, 1001]), "val")),
        "validation sharp": (True, subjects(gen["sharp"], few([1000, 1001]), "valsharp")),
        "held-out 2000-2003": (False, subjects(gen["train"], few([2000, 2001, 2002, 2003]),
                                               "test")),
        "template": (False, [("template", lambda: (template.t1, template.labels))]),
        "sharp 2000-2003": (False, subjects(gen["sharp"], few([2000, 2001, 2002, 2003]),
                                            "sharp")),
        "sharp, no bias": (False, subjects(gen["flat"], few([2000, 2001]), "flat")),
        "T1 gamma 0.5": (False, subjects(gen["gamma0.5"], few([2000, 2001]), "g05")),
        "T1 gamma 2": (False, subjects(gen["gamma2"], few([2000, 2001]), "g2")),
        "proxy": (False, subjects(gen["proxy"], few([2000, 2001]), "proxy")),
    }


def network(cache, key, make, model, card):
    """(normalised, probabilities, labels) of one volume, the network's pass cached."""
    path = os.path.join(cache, key + ".npz")
    if not os.path.exists(path):
        image, labels = make()
        start = time.perf_counter()
        normalised, prob = segmentation.segment_at_card_voxels(model, card, image)
        seconds = time.perf_counter() - start
        with files.atomic_path(path) as tmp:
            np.savez(tmp, normalised=normalised.astype(np.float32),
                     probabilities=prob.astype(np.float32), labels=labels.astype(np.uint8),
                     seconds=seconds)
        print(f"  {key}: network {seconds:.0f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    saved = np.load(path)
    return saved["normalised"], saved["probabilities"], saved["labels"]


def machine():
    model = platform.processor() or "?"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            names = [line.split(":", 1)[1].strip() for line in f
                     if line.startswith("model name")]
            f.seek(0)
            avx512 = "avx512f" in f.read()
        model = (names[0] if names else model) + (", AVX-512" if avx512 else ", AVX2")
    return f"{model}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"


def em_alone(normalised, prob):
    """EM of minicnn.mixture on the network's brain, components named by sorted mean."""
    brain = prob.argmax(axis=-1) != 0
    fit = mixture.fit_gaussian_mixture(normalised[brain], 3, init="kmeans", max_iter=100)
    labels = np.zeros(brain.shape, np.uint8)
    labels[brain] = fit.predict(normalised[brain]) + 1
    return labels


def label_name(setting):
    if setting == "network":
        return "network"
    if setting == "EM":
        return "EM alone (T1 order)"
    w, m = setting
    return f"refined w={w:g}, {m} G/tissue"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", default=os.path.join("/tmp", "minicnn-refine-cache"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cache-only", action="store_true",
                        help="compute the network's passes and stop")
    args = parser.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    print(f"{datetime.date.today()}  {machine()}  numpy {np.__version__}")
    template = datasets.icbm152(resolution=1)
    card = segmentation.load_card(pretrained.weights_path())
    model, card = segmentation.load_model(pretrained.weights_path(),
                                          (card["pad_multiple"],) * 2 + (1,))
    every = sets(template, args.quick)
    settings = ["network", "EM"] + [(w, m) for m in COMPONENTS for w in
                                    ((0.5, 1.0) if args.quick else WEIGHTS)]
    results = {}              # (set, setting) -> scores, volumes (mL per class)
    fit_seconds = []
    for name, (_, members) in every.items():
        print(f"{name}:", flush=True)
        truths, preds = [], {s: [] for s in settings}
        for key, make in members:
            normalised, prob, truth = network(args.cache, key, make, model, card)
            if args.cache_only:
                continue
            truths.append(truth)
            preds["network"].append(prob.argmax(axis=-1).astype(np.uint8))
            preds["EM"].append(em_alone(normalised, prob))
            for setting in settings[2:]:
                start = time.perf_counter()
                done = refine.refine_probabilities(normalised, prob, *setting)
                fit_seconds.append((key, setting, time.perf_counter() - start,
                                    len(done.mixture.objective) - 1, done.brain_voxels,
                                    done.refined_voxels))
                preds[setting].append(done.probabilities.argmax(axis=-1).astype(np.uint8))
        if args.cache_only:
            continue
        for setting in ["truth"] + settings:
            maps = truths if setting == "truth" else preds[setting]
            ml = np.mean([np.bincount(m.ravel(), minlength=4)[1:] / 1000 for m in maps],
                         axis=0)
            score = None if setting == "truth" else scoring.scores(truths, maps, 4)
            results[name, setting] = score, ml
    if args.cache_only:
        return
    print_tables(every, settings, results, fit_seconds)


def print_tables(every, settings, results, fit_seconds):
    tuning = [name for name, (tune, _) in every.items() if tune]
    candidates = settings[2:]
    mean = {s: np.mean([results[t, s][0]["mean_dice"] for t in tuning]) for s in settings}
    best = max(candidates, key=lambda s: mean[s])
    print("\nChoice on the tuning sets (" + ", ".join(tuning) + "): mean Dice of CSF, GM, "
          "WM, averaged over the sets")
    for s in settings:
        print(f"  {label_name(s):32s} {mean[s]:.4f}" + ("   <- chosen" if s == best else ""))
    print("\nDice per class (pooled over a set's subjects) and mean volumes (mL)")
    head = (f"{'set':20s} {'method':32s} " + " ".join(f"{c:>6s}" for c in CLASSES)
            + f" {'bg':>6s}  " + " ".join(f"{c + ' mL':>8s}" for c in CLASSES)
            + f" {'brain mL':>9s}")
    print(head)
    for name in every:
        _, ml = results[name, "truth"]
        print(f"{name:20s} {'truth':32s} " + " " * 28
              + " ".join(f"{v:8.1f}" for v in ml) + f" {ml.sum():9.1f}")
        for s in settings:
            score, ml = results[name, s]
            d = score["dice"]
            print(f"{'':20s} {label_name(s) + (' *' if s == best else ''):32s} "
                  + " ".join(f"{d[c]:6.3f}" for c in CLASSES) + f" {d['background']:6.3f}  "
                  + " ".join(f"{v:8.1f}" for v in ml) + f" {ml.sum():9.1f}")
    print("\nChosen setting against the network, every class of every set "
          "(Dice refined - network):")
    worse = []
    for name in every:
        diff = {c: results[name, best][0]["dice"][c] - results[name, "network"][0]["dice"][c]
                for c in CLASSES}
        worse += [(name, c, v) for c, v in diff.items() if v < 0]
        print(f"  {name:20s} " + "  ".join(f"{c} {v:+.3f}" for c, v in diff.items()))
    print("  at least as good everywhere" if not worse else
          "  worse on: " + ", ".join(f"{n} {c} ({v:+.3f})" for n, c, v in worse))
    chosen = [f for f in fit_seconds if f[1] == best]
    print(f"\nRefinement time ({label_name(best)}), per volume: "
          + ", ".join(f"{k} {s:.1f} s ({it} it, {fv:,} brain, {rv:,} refined)"
                      for k, _, s, it, fv, rv in chosen))
    print(f"machine at the end: {machine()}")


if __name__ == "__main__":
    main()
