# %% introduction and setup
"""The classical baseline: a Gaussian mixture fitted by EM, against the U-Net.

    python examples/11_classical_baseline.py [--out DIR] [--quick]

The course's labels were made by FSL FAST, which is not a network. Its core
is an intensity model: in a skull-stripped T1 each brain voxel is CSF, grey
or white matter, and each tissue's intensities are roughly Gaussian, dark
CSF < GM < bright WM. So the histogram of the brain is a mixture

    p(x) = sum_k pi_k N(x | mu_k, s2_k),     k = CSF, GM, WM

fitted by expectation-maximisation (minicnn.mixture, which explains it):

    E step  r_ik = pi_k N(x_i | mu_k, s2_k) / sum_j pi_j N(x_i | mu_j, s2_j)
            (from logs: log-sum-exp, so no 0 / 0 in the tails)
    M step  N_k = sum_i r_ik,  pi_k = N_k / N,  mu_k = sum_i r_ik x_i / N_k,
            s2_k = sum_i r_ik (x_i - mu_k)^2 / N_k

repeated until the mean log-likelihood rises by less than 1e-6 (it never
falls). Each voxel then gets the component of highest responsibility, and
the components, sorted by mean, are named CSF < GM < WM: true of a T1 (a
T2 reverses it; the held-out subjects below are all T1-contrast, printed).

EM climbs uphill from where it starts, in steps that shrink where the
components overlap, so the start matters. From the quantiles of the
intensities (1/6, 1/2, 5/6: one start in each third of the voxels), or
k-means, it reaches the three tissues in a hundred or two iterations. From
three means bunched in one tail of the histogram it ends lower, with its
means elsewhere: at another local maximum, or still crawling uphill after
300 iterations (section 2 measures both; which start ends where depends on
the voxels sampled). Hence starts taken from the data: quantiles, k-means.

What an intensity model cannot know:

- Where it is. A voxel is labelled by its value alone: a dark voxel is CSF
  wherever it lies, and a grey one is GM, even along the ventricles' edge,
  where voxels half CSF and half WM (partial volume) look like GM. FAST adds a
  Markov random field, a prior that neighbours share a tissue, and
  partial-volume classes; this baseline has neither, so its errors are
  salt-and-pepper noise and thin borders.
- Where the brain ends. CSF and background are both dark: without a mask
  the mixture would merge them. Here, as FAST is given a skull-stripped
  brain, EM is given the true brain (label > 0) and fits only its voxels,
  so its background is perfect by construction: an advantage the U-Net,
  which finds the brain's edge itself, does not get.
- A bias field. MRI intensities drift smoothly across the head; the
  synthetic subjects have one (minicnn.data.synth), and the same tissue is
  brighter on one side. FAST estimates and removes it; this baseline does
  not, so the Gaussians of one subject overlap more than they would.

The two combined: FAST and Atropos give the mixture a spatial prior, a
template's tissue maps registered to the subject, as per-voxel mixing
weights. `minicnn predict --refine` uses the network's probabilities p_vk
instead (minicnn.segmentation.refine derives it): each brain voxel's
prior is pi_vk = p_vk^w / sum_j p_vj^w, the E step is
r_vk = pi_vk N(x_v | mu_k, s2_k) / sum_j pi_vj N(x_v | mu_j, s2_j), the M
step refits only the Gaussians (the priors are data), and the posterior
r_vk, prior x likelihood normalised, replaces the network's split of the
brain among the tissues. The Gaussians are named by the network, not by
sorting their means, and the network's brain replaces the true one.

Compared here, on the same volumes and by the same Dice (per class, from
voxel totals over all held-out volumes, as `minicnn train` scores them,
minicnn/segmentation/scoring.py):

- the mixture (EM) on the brain's voxels;
- the pretrained U-Net that ships with minicnn (minicnn/pretrained: trained
  at 1 mm on all three views of synthetic subjects), run as `minicnn
  predict` does, along the axial view alone and along all three views
  (class probabilities averaged);
- the U-Net's probabilities refined by the subject's intensities, as
  `minicnn predict --refine` does (its default prior weight w).

Data, at 1 mm: the held-out synthetic subjects 2000-2003, made exactly as
`minicnn train --resolution 1 --seed 0` makes them (never trained on; the
shipped model's BUILD.json records their Dice), and the ICBM152 template.
Every training subject of the U-Net is a deformation of this template, so
its template row measures a familiar brain, not an unseen one.

Figures: errors.png (one slice of a subject and of the template: T1,
truth, EM, U-Net, U-Net refined, and where each is wrong), histograms.png (the brain's
intensities per true class, with the fitted Gaussians).
--quick: one subject, a slab of 8 axial slices, the U-Net along the axial
view only, refined as it is (the numbers mean little).
"""
import json
import os
import time

import _common
import numpy as np

from minicnn import data, datasets, mixture, pretrained, segmentation
from minicnn.data import synth
from minicnn.segmentation import job, refine, scoring

START = time.perf_counter()
args, out = _common.setup("11_classical_baseline", "EM on intensities vs the U-Net (1 mm)")
plt = _common.plt
NAMES = ("background", "CSF", "GM", "WM")
FIT_VOXELS = 20_000 if args.quick else 100_000     # EM fits a random sample of the brain
SEED = 0

# %% 1. data: held-out subjects and the template, 1 mm
template = datasets.icbm152(resolution=1)
# minicnn train at 1 mm: SynthGenerator(template, seed, **preset('train')), held-out ids 2000 ...
generator = data.SynthGenerator(template, seed=SEED, **synth.preset("train"))
subjects = list(range(job.TEST_FIRST, job.TEST_FIRST + (1 if args.quick else 4)))
z_brain = np.flatnonzero(template.labels.any(axis=(0, 1)))
slab = np.arange(z_brain.mean() - 4, z_brain.mean() + 4).astype(int) if args.quick else None

volumes = {}                          # name -> (T1 (X, Y, Z), labels (X, Y, Z))
for k in subjects:
    if slab is None:
        volumes[f"subject {k}"] = generator.volume(k, axis=2)      # as train's scoring does
    else:                             # volume(k)[:, :, p] equals slices(k, 2, [p])
        x, y, _ = generator.slices(k, axis=2, positions=slab)
        volumes[f"subject {k}"] = (np.moveaxis(x[..., 0], 0, 2), np.moveaxis(y, 0, 2))
    print(f"subject {k}: contrast {generator.params(k).contrast}")
volumes["template"] = (template.t1, template.labels) if slab is None else \
    (template.t1[:, :, slab], template.labels[:, :, slab])
print(f"volumes {', '.join(volumes)}: {' x '.join(map(str, template.t1.shape[:2]))} x "
      f"{volumes['template'][0].shape[2]} voxels of 1 mm")

# Both methods read the same input: the volume scaled as the U-Net's card records.
card = segmentation.load_card(pretrained.weights_path())
normalised = {name: segmentation.normalise(t1, card) for name, (t1, _) in volumes.items()}

# %% 2. EM on the brain's intensities
_common.banner("EM: a three-class Gaussian mixture on each brain's intensities")


def fit_brain(image, labels, seed, init="quantile"):
    """The mixture fitted to FIT_VOXELS random voxels of the brain (label > 0)."""
    brain = image[labels > 0]
    sample = np.random.default_rng(seed).choice(brain, min(FIT_VOXELS, brain.size),
                                                replace=False)
    return mixture.fit_gaussian_mixture(sample, 3, init=init)


def em_labels(fit, image, labels):
    """Labels (X, Y, Z): 0 outside the brain, component + 1 inside (CSF 1, GM 2, WM 3)."""
    out = np.zeros(labels.shape, np.uint8)
    out[labels > 0] = fit.predict(image[labels > 0]) + 1
    return out


fits, em = {}, {}
print(f"{'volume':12s} {'iterations':>10s} {'L':>7s}   means (sd) CSF, GM, WM          weights")
for i, (name, (_, labels)) in enumerate(volumes.items()):
    fits[name] = fit_brain(normalised[name], labels, seed=i)
    em[name] = em_labels(fits[name], normalised[name], labels)
    f = fits[name]
    print(f"{name:12s} {len(f.log_likelihoods) - 1:>10d} {f.log_likelihoods[-1]:7.4f}   "
          + "  ".join(f"{m:.3f} ({s:.3f})" for m, s in zip(f.means, np.sqrt(f.variances)))
          + "   " + " ".join(f"{w:.2f}" for w in f.weights))

_common.banner("Why the start matters (template)")
image, labels = normalised["template"], volumes["template"][1]
for init in ("quantile", "kmeans", [0.05, 0.1, 0.15], [0.9, 0.95, 1.0]):
    f = fit_brain(image, labels, seed=0, init=init)
    start = init if isinstance(init, str) else f"means {init}"
    print(f"start {start:24s} -> means {np.round(f.means, 3).tolist()}, "
          f"L {f.log_likelihoods[-1]:.4f}, {len(f.log_likelihoods) - 1} iterations"
          + ("" if f.converged else ", not converged"))
print("Starts bunched in one tail end with a lower L and the means elsewhere: stuck at "
      "another maximum, or not there after 300 iterations.")

# %% 3. the U-Net, one view and three views, and refined by the intensities
_common.banner("U-Net: the shipped model, as minicnn predict runs it (and with --refine)")
model, card = segmentation.load_model(pretrained.weights_path(),
                                      (card["pad_multiple"],) * 2 + (1,))
margin = segmentation.crop_margin_voxels(card, card["voxel_mm"])
views = ["axial"] if args.quick else card["views"]     # quick: the axial view only
one_view, three_views, refined = {}, {}, {}
for name, image in normalised.items():
    started = time.perf_counter()
    # One view at a time: the three-view prediction is their average, as in segment_views.
    prob = {view: segmentation.segment_views(model, image, [view], card["pad_multiple"],
                                             margin, segmentation.scan.BATCH_SIZE)
            for view in views}
    one_view[name] = prob["axial"].argmax(axis=-1).astype(np.uint8)
    average = sum(prob.values()) / len(prob)                       # (X, Y, Z, 4)
    three_views[name] = average.argmax(axis=-1).astype(np.uint8)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    # The network's probabilities as priors of a mixture of this brain's intensities.
    done = refine.refine_probabilities(image, average)
    refined[name] = done.probabilities.argmax(axis=-1).astype(np.uint8)
    fit = done.mixture
    print(f"{name}: {', '.join(views)} in {seconds:.0f} s; refined in "
          f"{time.perf_counter() - started:.1f} s ({len(fit.objective) - 1} EM steps, "
          f"means CSF, GM, WM {np.round(fit.means, 3).tolist()})")

# %% 4. Dice per class
_common.banner("Dice per class, whole 1 mm volumes (voxel totals; synthetic subjects pooled)")
methods = {"EM (intensity only)": em, "U-Net, axial view": one_view}
if len(views) == 3:
    methods["U-Net, three views"] = three_views
methods[f"U-Net refined, w={refine.DEFAULT_WEIGHT:g}"] = refined
groups = {f"synthetic {subjects[0]}-{subjects[-1]}" if len(subjects) > 1 else
          f"synthetic {subjects[0]}": [n for n in volumes if n != "template"],
          "ICBM152 template": ["template"]}
table = {}
print(f"{'data':22s} {'method':22s} {'CSF':>6s} {'GM':>6s} {'WM':>6s}")
for group, names in groups.items():
    for method, predictions in methods.items():
        dice = scoring.scores([volumes[n][1] for n in names], [predictions[n] for n in names],
                               4)["dice"]
        table[group, method] = dice
        print(f"{group:22s} {method:22s} " + " ".join(f"{dice[c]:6.3f}" for c in NAMES[1:]))
with open(os.path.join(pretrained.DIRECTORY, "BUILD.json"), encoding="utf-8") as f:
    recorded = json.load(f)["heldout_dice"]
print("BUILD.json (three views, as minicnn train scored them): synthetic "
      + " ".join(f"{c} {recorded['synthetic_subjects'][c]:.3f}" for c in NAMES[1:])
      + "; template " + " ".join(f"{c} {recorded['icbm152_template'][c]:.3f}"
                                 for c in NAMES[1:]))

# %% 5. figures: where each fails
rows = [next(iter(volumes)), "template"]


def middle_slice(labels):
    """The axial position halfway through the brain."""
    z = np.flatnonzero(labels.any(axis=(0, 1)))
    return int(z[len(z) // 2])


def show_errors(ax, image, truth, prediction, title):
    """The T1 dimmed (grey levels up to 2, not 1.2), the wrongly labelled voxels in red."""
    _common.show(ax, image, title, vmin=0, vmax=2)
    wrong = np.flipud((prediction != truth).T)
    overlay = np.zeros(wrong.shape + (4,))
    overlay[wrong] = (0.9, 0.1, 0.1, 0.9)
    ax.imshow(overlay, interpolation="nearest")


fig, axes = plt.subplots(2, 8, figsize=(20, 6.0), layout="constrained")
for row, name in zip(axes, rows):
    truth = volumes[name][1]
    z = middle_slice(truth)
    cut = {key: maps[name][:, :, z] for key, maps in (("em", em), ("unet", three_views),
                                                     ("refined", refined))}
    unet_title = f"U-Net, {'three views' if len(views) == 3 else 'axial view'}"
    _common.show(row[0], normalised[name][:, :, z], f"{name}, axial z={z}\nT1", vmin=0,
                 vmax=1.2)
    _common.show(row[1], truth[:, :, z], "truth", labels=4)
    _common.show(row[2], cut["em"], "EM (intensity only)", labels=4)
    _common.show(row[3], cut["unet"], unet_title, labels=4)
    _common.show(row[4], cut["refined"], "U-Net refined", labels=4)
    for ax, key, label in ((row[5], "em", "EM"), (row[6], "unet", "U-Net"),
                           (row[7], "refined", "refined")):
        wrong = np.mean(cut[key][truth[:, :, z] > 0] != truth[:, :, z][truth[:, :, z] > 0])
        show_errors(ax, normalised[name][:, :, z], truth[:, :, z], cut[key],
                    f"{label} errors (red)\n{wrong:.1%} of the brain's voxels")
_common.label_legend(fig, 4, loc="outside lower center")
fig.suptitle("Where each fails (red): EM, with no spatial prior and no bias correction, at "
             "borders, on noisy voxels and where the bias field shifts whole regions; "
             "the U-Net mostly at borders; refined, where the intensities overrule it",
             fontsize=11)
_common.save(fig, out, "errors.png")

fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
colours = {"CSF": "tab:blue", "GM": "tab:orange", "WM": "tab:green"}
for ax, name in zip(axes, rows):
    image, truth = normalised[name], volumes[name][1]
    bins = np.linspace(0, 1.3, 131)
    width = bins[1] - bins[0]
    brain = truth > 0
    for c, tissue in enumerate(NAMES[1:], start=1):      # the truth's classes, as densities of p(x)
        counts, _ = np.histogram(image[truth == c], bins)
        ax.stairs(counts / brain.sum() / width, bins, color=colours[tissue], alpha=0.5,
                  fill=True, label=f"true {tissue}")
    grid = np.linspace(0, 1.3, 400)
    components = fits[name].densities(grid)              # (400, 3) pi_k N(x | mu_k, s2_k)
    for k, tissue in enumerate(NAMES[1:]):
        ax.plot(grid, components[:, k], color=colours[tissue], linewidth=2,
                label=f"EM component {tissue}")
    ax.plot(grid, components.sum(axis=1), "k--", linewidth=1, label="mixture p(x)")
    ax.set_xlabel("intensity (scaled as the U-Net's input)")
    ax.set_ylabel("density")
    ax.set_title(f"{name}: brain intensities by true class, fitted Gaussians", fontsize=10)
    ax.legend(fontsize=7)
_common.save(fig, out, "histograms.png")
print(f"total {time.perf_counter() - START:.0f} s")

# %% write it yourself
_common.exercises("11_classical_baseline")
