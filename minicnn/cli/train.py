"""``minicnn train``: a U-Net that segments CSF, grey and white matter, from scratch.

Nothing to download: the data are the ICBM 2009a template shipped inside
minicnn (2 mm, 75 x 93 x 79 voxels, labels 0 background, 1 CSF, 2 GM, 3 WM)
and synthetic subjects made from it (``minicnn.data.synth``: each one the
template warped by a random affine + elastic deformation, re-imaged with a
random gamma, bias field and noise).

Which synthetic subjects, slices and crops it trains on, and which it holds
out, is ``minicnn.segmentation.job``. Training never sees a held-out subject
nor the template: it sees only synthetic subjects, so the template is held
out entirely, and the held-out ids are fixed, so every recipe is scored on
the same brains. Honestly said, every synthetic subject is a deformation of
that one template, so held-out scores measure how well the network copes
with new shapes, contrasts, bias fields and noise of the same anatomy; they
are not a test on other people's brains, which would need other data.

The default recipe (docs/train.md gives the trials behind each choice and
the measured times):

- axial slices at 2 mm: 75 x 93, padded to 80 x 96 so that three 2x2
  poolings divide them (``--resolution 1`` trains at 1 mm on 112 x 112
  crops; ``--views all`` on axial, coronal and sagittal slices);
- 74 non-empty slices of each of 18 new synthetic subjects per epoch, 6
  epochs (108 subjects): a brain is never seen twice, so the network learns
  tissue, not one subject; left-right flips on top (a mirrored brain is
  still a brain);
- batches of 4;
- Adam, learning rate 1e-3 decayed along half a cosine to 2 % of it by the
  last step, so that the last epoch settles instead of bouncing;
- categorical cross-entropy (the course's loss) plus the soft Dice loss
  (``losses.WeightedSum``), computed from the softmax's logits as Keras's fit
  does; accuracy and per-class Dice are printed as it trains.
"""
import os
import platform
import time

import numpy as np

from .. import (__version__, callbacks, data, datasets, losses, metrics, optimizers,
               segmentation)
from ..backend import BACKENDS, get_backend, set_backend
from ..data import synth
from ..rng import set_random_seed
from ..segmentation import job, scoring
from ..segmentation.scoring import BAR, SHORT
from . import report
from .arguments import non_negative_int, positive_float, positive_int, views_argument

DEFAULTS = {"model": "unet", "epochs": 6, "batch_size": 4, "learning_rate": 1e-3,
            "loss": "crossentropy+dice", "subjects": 18, "val_subjects": 2, "test_subjects": 4,
            "resolution": 2, "views": "axial", "seed": 0, "backend": None,
            "out": "minicnn-train"}
# Per resolution: slices per subject and view, crop size (0: whole slices) and
# the synthetic subjects' distribution ('default': SynthGenerator's own).
BY_RESOLUTION = {2: {"slices": 74, "crop": 0, "synth": "default"},
                 1: {"slices": 64, "crop": 112, "synth": "train"}}
FINAL_RATE = 0.02          # the cosine decay ends at 2 % of the initial rate


def crossentropy_dice():
    """The main job's loss: categorical cross-entropy + soft Dice (``losses.WeightedSum``)."""
    return losses.WeightedSum([losses.CategoricalCrossentropy(), losses.Dice()])


LOSSES = {"crossentropy": losses.CategoricalCrossentropy,
          "crossentropy+dice": crossentropy_dice}


class StepLog(callbacks.Callback):
    """The loss of every batch and the learning rate it was trained with.

    fit reports running means over the epoch; batch b's own loss is
    recovered as (m_b S_b - m_{b-1} S_{b-1}) / (S_b - S_{b-1}), with S_b
    the number of samples seen after batch b.
    """

    def __init__(self, n_samples, batch_size):
        super().__init__()
        self.n_samples, self.batch_size = n_samples, batch_size
        self.loss, self.learning_rate, self.epoch_of_step = [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._seen, self._total = epoch, 0, 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._rate = self.model.optimizer.current_learning_rate()

    def on_train_batch_end(self, batch, logs=None):
        size = min(self.batch_size, self.n_samples - self._seen)
        self._seen += size
        total = logs["loss"] * self._seen
        self.loss.append((total - self._total) / size)
        self._total = total
        self.learning_rate.append(self._rate)
        self.epoch_of_step.append(self._epoch + self._seen / self.n_samples)


def add_arguments(parser):
    d = DEFAULTS
    parser.add_argument("--model", default=d["model"], choices=sorted(segmentation.MODELS),
                        metavar="NAME", help=f"network to train (default {d['model']}). "
                        + segmentation.card.model_help())
    parser.add_argument("--epochs", type=positive_int, default=d["epochs"],
                        help="training epochs, each on --subjects new synthetic subjects "
                        f"(default {d['epochs']})")
    parser.add_argument("--batch-size", type=positive_int, default=d["batch_size"],
                        help=f"slices per weight update (default {d['batch_size']})")
    parser.add_argument("--learning-rate", type=positive_float, default=d["learning_rate"],
                        help="Adam's initial learning rate, decayed along a cosine to "
                        f"{FINAL_RATE:g} of it (default {d['learning_rate']:g})")
    parser.add_argument("--loss", choices=sorted(LOSSES), default=d["loss"],
                        help="categorical cross-entropy (the course's loss), or it plus "
                        f"the soft Dice loss (default {d['loss']})")
    parser.add_argument("--seed", type=non_negative_int, default=d["seed"],
                        help="seeds the synthetic subjects, the weights and the batch "
                        f"order: same seed, same run (default {d['seed']})")
    parser.add_argument("--out", default=d["out"],
                        help=f"folder for everything written (default ./{d['out']})")
    parser.add_argument("--backend", choices=BACKENDS, default=d["backend"],
                        help="kernels: 'numba' (compiled, faster) or 'numpy' (the "
                        "readable reference) (default: the library's, numba when it "
                        "imports)")
    parser.add_argument("--subjects", type=positive_int, default=d["subjects"],
                        help="new synthetic training subjects for each epoch (default "
                        f"{d['subjects']})")
    parser.add_argument("--val-subjects", type=positive_int, default=d["val_subjects"],
                        help="synthetic validation subjects, scored after each epoch "
                        f"(default {d['val_subjects']})")
    parser.add_argument("--test-subjects", type=positive_int, default=d["test_subjects"],
                        help="held-out synthetic subjects, never trained on "
                        f"(default {d['test_subjects']})")
    parser.add_argument("--resolution", type=int, choices=(1, 2), default=d["resolution"],
                        help="voxel size in mm of the training data and of the model "
                        f"(default {d['resolution']}; 1 mm trains on crops, see --crop)")
    parser.add_argument("--views", default=d["views"], type=views_argument,
                        help="the slice directions to train on: 'axial', 'coronal', "
                        "'sagittal', a comma list, or 'all' (predict averages the views' "
                        f"probabilities) (default {d['views']})")
    parser.add_argument("--slices", type=positive_int, default=None,
                        help="slices per subject and view, evenly spaced among the "
                        "non-empty ones (default: "
                        + ", ".join(f"{v['slices']} at {r} mm" for r, v in BY_RESOLUTION.items())
                        + "; held-out volumes are always scored whole)")
    parser.add_argument("--crop", type=non_negative_int, default=None,
                        help="train on one random C x C crop of each slice, centred on brain "
                        "(0: whole slices; default: "
                        + ", ".join(f"{v['crop']} at {r} mm" for r, v in BY_RESOLUTION.items())
                        + ")")
    parser.add_argument("--synth", choices=("default", *synth.PRESETS), default=None,
                        help="the synthetic subjects' distribution: 'default' "
                        "(SynthGenerator's own: T1 contrast) or a preset of "
                        "minicnn.data.synth (default: "
                        + ", ".join(f"{v['synth']} at {r} mm" for r, v in BY_RESOLUTION.items())
                        + ")")


def _training_views(views):
    """The views of --views to train on, the axial view first (the card's
    axis is the first view's): 'all' means every view there is."""
    views = list(segmentation.VIEWS) if views == "all" else views
    order = {"axial": 0, "coronal": 1, "sagittal": 2}
    return sorted(views, key=order.get)


def run(args):
    """Train, evaluate on held-out data, write everything to args.out."""
    start = time.perf_counter()
    defaults = BY_RESOLUTION[args.resolution]
    per_view = args.slices or defaults["slices"]
    crop = defaults["crop"] if args.crop is None else args.crop
    synth_name = args.synth or defaults["synth"]
    train_ids, val_ids, test_ids = job.subject_ids(
        args.subjects, args.epochs, args.val_subjects, args.test_subjects)
    out = _output_folder(args.out)
    if args.backend is not None:
        set_backend(args.backend)
    set_random_seed(args.seed)
    template = datasets.icbm152(resolution=args.resolution)
    options = {} if synth_name == "default" else synth.preset(synth_name)
    generator = data.SynthGenerator(template, seed=args.seed, **options)
    voxel_mm = float(data.voxel_sizes(template.affine)[0])
    views = _training_views(args.views)
    card = segmentation.new_card(args.model, template.class_names,
                                 segmentation.VIEWS[views[0]], voxel_mm, views=views)
    print(f"minicnn {__version__} train: model {args.model!r}, backend {get_backend()}, "
          f"seed {args.seed}, {args.resolution} mm, views {', '.join(views)}, "
          f"output in {out}")

    sampler = job.Sampler(generator, card, per_view, crop, template.affine, args.seed)
    per_epoch = [train_ids[e * args.subjects:(e + 1) * args.subjects]
                 for e in range(args.epochs)]
    train = job.EpochBlocks(sampler, per_epoch, args.batch_size, card["n_classes"],
                                 args.seed)
    x_val, y_val = sampler.subjects(val_ids)
    shape = sampler.shape + (1,)
    sample = f"{crop} x {crop} crops" if crop else \
        f"slices padded to {shape[0]} x {shape[1]}"
    print(f"data: {args.epochs} x {train.n_samples} training {sample} from synthetic "
          f"subjects {_span(train_ids)} ({args.subjects} new ones per epoch, "
          f"{synth_name!r} distribution), {len(x_val)} validation ones from "
          f"{_span(val_ids)} ({time.perf_counter() - start:.0f} s)")

    model = segmentation.build(card, shape)
    n_classes = card["n_classes"]
    steps = args.epochs * len(train)
    schedule = optimizers.CosineDecay(args.learning_rate, decay_steps=steps,
                                      alpha=FINAL_RATE)
    model.compile(optimizer=optimizers.Adam(schedule),
                  loss=LOSSES[args.loss](),
                  metrics=["accuracy"] + [
                      metrics.Dice(n_classes=n_classes, class_ids=(c,),
                                   name=f"dice_{SHORT[c].lower()}")
                      for c in range(1, n_classes)])
    print(f"{model.count_params():,} parameters; {args.epochs} epochs of "
          f"{steps // args.epochs} batches of {args.batch_size}, Adam from "
          f"{args.learning_rate:g} (cosine decay)")
    step_log = StepLog(train.n_samples, args.batch_size)
    train_start = time.perf_counter()
    history = model.fit(train, epochs=args.epochs, callbacks=[step_log],
                        validation_data=(x_val, data.one_hot(y_val, n_classes)),
                        validation_batch_size=16)
    train_time = time.perf_counter() - train_start

    print("evaluating on held-out volumes (never trained on) ...")
    eval_start = time.perf_counter()
    synthetic, (image, labels, pred) = scoring.synthetic_subjects(model, card, generator,
                                                                  test_ids)
    montage_rows = report.montage_rows(f"synthetic subject {test_ids[0]}", image, labels,
                                       pred, card["axis"])
    template_scores, (image, template_pred) = scoring.template(model, card, template)
    montage_rows += report.montage_rows("ICBM152 template", image, template.labels,
                                        template_pred, card["axis"])
    eval_time = time.perf_counter() - eval_start

    files = {"weights": "model.npz", "card": "model.json", "metrics": "metrics.json",
             "curves": "curves.png", "montage": "montage.png",
             "prediction": "icbm152_pred.nii.gz"}
    segmentation.save_model(model, card, os.path.join(out, files["weights"]))
    data.save_nifti(os.path.join(out, files["prediction"]), template_pred,
                    template.affine, dtype=np.uint8)
    report.plot_curves(os.path.join(out, files["curves"]), history.history, step_log,
                       template.class_names, args.loss)
    report.plot_montage(os.path.join(out, files["montage"]), montage_rows,
                        template.class_names)
    heldout = {"synthetic_subjects": synthetic, "icbm152_template": template_scores}
    wall = time.perf_counter() - start
    content = {
        "minicnn": __version__, "python": platform.python_version(),
        "numpy": np.__version__, "platform": platform.platform(),
        "command": ["minicnn"] + list(getattr(args, "argv", [])),
        "seed": args.seed, "backend": get_backend(),
        "load_average_at_start": list(getattr(args, "load_average", [])),
        "recipe": {"model": args.model, "parameters": model.count_params(),
                   "builder": card["builder"], "arguments": card["arguments"],
                   "epochs": args.epochs, "batch_size": args.batch_size,
                   "optimizer": "Adam", "learning_rate": args.learning_rate,
                   "schedule": f"cosine decay to {FINAL_RATE:g} x over {steps} steps",
                   "loss": args.loss, "augmentation": "left-right flips",
                   "resolution_mm": args.resolution, "views": views,
                   "voxel_mm": voxel_mm, "synth": synth_name, "crop": crop,
                   "input_shape": list(shape), "slices_per_subject_and_view": per_view,
                   "train_subjects": train_ids, "val_subjects": val_ids,
                   "test_subjects": test_ids, "train_samples_per_epoch": train.n_samples,
                   "val_samples": len(x_val)},
        "history": history.history,
        "steps": {"loss": step_log.loss, "learning_rate": step_log.learning_rate,
                  "epoch": step_log.epoch_of_step},
        "heldout": heldout,
        "bar": {**BAR, "met": {name: scoring.meets_bar(s) for name, s in heldout.items()}},
        "seconds": {"data": train_start - start, "train": train_time,
                    "evaluate": eval_time, "total": wall},
        "wall_time_s": wall,
        "files": files,
    }
    segmentation.write_json(os.path.join(out, files["metrics"]), content)
    _print_results(heldout, synthetic["subjects"], wall, out, files)
    return 0


# ------------------------------------------------------------------- data
def _span(ids):
    return f"{ids[0]}-{ids[-1]}" if len(ids) > 1 else f"{ids[0]}"


# ----------------------------------------------------------------- output
def _print_results(heldout, test_ids, wall, out, files):
    names = {"synthetic_subjects": f"synthetic subjects {_span(test_ids)}",
             "icbm152_template": "ICBM152 template (real T1)"}
    print("\nheld-out Dice (whole volumes, never trained on):")
    print(f"  {'':<30}{'CSF':>7}{'GM':>7}{'WM':>7}{'mean':>7}{'acc':>7}")
    for key, s in heldout.items():
        d = s["dice"]
        print(f"  {names[key]:<30}{d['CSF']:>7.3f}{d['GM']:>7.3f}{d['WM']:>7.3f}"
              f"{s['mean_dice']:>7.3f}{s['accuracy']:>7.3f}")
    met = all(scoring.meets_bar(s) for s in heldout.values())
    print(f"  bar (mean >= {BAR['mean_dice']}, GM and WM >= {BAR['GM']}): "
          + ("met on both" if met else "NOT met"))
    print(f"wrote {', '.join(files.values())} to {out}")
    minutes, seconds = divmod(int(round(wall)), 60)
    print(f"wall time {minutes} min {seconds:02d} s")


def _output_folder(path):
    path = os.path.abspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"--out {path!r} exists and is not a folder")
    os.makedirs(path, exist_ok=True)
    if not os.access(path, os.W_OK):
        raise PermissionError(f"--out {path!r} is not writable")
    return path
