"""The main job's data, what ``minicnn train`` feeds the network: subjects,
views, slices and crops.

Subjects (subject k of seed s is always the same brain, ``minicnn.data.synth``):

    training     epoch e uses new subjects e*S .. e*S + S - 1     (--subjects S)
    validation   subjects 1000 .., scored after each epoch         (--val-subjects)
    held out     subjects 2000 .., whole volumes                   (--test-subjects)

One subject gives the same number of samples to every epoch it is in, so
that every epoch has the same length (fit's progress bar expects it):

    for each view v of the card (its slices lie across RAS+ axis a_v):
        the subject's slices across a_v, normalised as one volume
        K of its non-empty slices, evenly spaced        (--slices K; repeated
                                                          when it has fewer)
        whole slices, padded to the network's multiple   (--crop 0), or one
        random C x C crop per slice, centred on brain    (--crop C)
        a left-right flip of a random half, where the view shows left and right

so an epoch holds S * V * K samples. Whole slices of different views have
different sizes; they are all padded to the largest (a multiple of the
network's). Crops keep a step at 1 mm about as costly as a whole-slice step
at 2 mm (112 x 112 crops against 80 x 96 slices), and the network, fully
convolutional, still segments whole slices at prediction.

The blocks of samples are made when their epoch starts, not all at first:
a long 1 mm run would not fit in memory otherwise.
"""
import math

import numpy as np

from .. import data
from .card import normalise
from .views import padded_slice_shape, view_axes

VAL_FIRST, TEST_FIRST = 1000, 2000   # validation and held-out subject ids start here


def subject_ids(subjects, epochs, val_subjects, test_subjects):
    """Training, validation and held-out subject ids: three disjoint blocks."""
    n_train = subjects * epochs
    if n_train > VAL_FIRST:
        raise ValueError(f"--subjects x --epochs = {n_train} training subjects would "
                         f"reach the validation subjects (ids from {VAL_FIRST}); use at "
                         f"most {VAL_FIRST}")
    if val_subjects > TEST_FIRST - VAL_FIRST:
        raise ValueError(f"--val-subjects {val_subjects} would reach the held-out "
                         f"subjects (ids from {TEST_FIRST}); use at most "
                         f"{TEST_FIRST - VAL_FIRST}")
    return (list(range(n_train)), list(range(VAL_FIRST, VAL_FIRST + val_subjects)),
            list(range(TEST_FIRST, TEST_FIRST + test_subjects)))


class Sampler:
    """Makes the samples of subjects (see the module docstring).

    generator: a ``data.SynthGenerator``; card: the model card (views,
    normalisation, pad multiple); per_view: K; crop: C or 0 for whole slices;
    affine: the template's, to know which in-plane axis runs left-right.
    """

    def __init__(self, generator, card, per_view, crop, affine, seed):
        self.generator, self.card = generator, card
        self.axes = view_axes(card["views"])
        self.per_view, self.crop, self.seed = per_view, crop, seed
        self.flip = {a: data.left_right_axis(affine, a) for a in self.axes}
        multiple = card["pad_multiple"]
        if crop:
            if crop % multiple:
                raise ValueError(f"--crop {crop} must be a multiple of {multiple}, which "
                                 "the network's poolings divide")
            self.shape = (crop, crop)
        else:                         # every view padded to the largest padded plane
            planes = [padded_slice_shape(generator.shape, a, multiple) for a in self.axes]
            self.shape = tuple(max(p[i] for p in planes) for i in (0, 1))

    def samples_per_subject(self):
        return len(self.axes) * self.per_view

    def subjects(self, ids):
        """x (N, H, W, 1) float32 and y (N, H, W) uint8 of the subjects `ids`."""
        parts = [self._views(k) for k in ids]
        return (np.concatenate([x for x, _ in parts]),
                np.concatenate([y for _, y in parts]))

    def _views(self, k):
        xs, ys = [], []
        for a in self.axes:
            x, y, _ = self.generator.slices(k, axis=a)                 # (n, H, W, 1), (n, H, W)
            x = normalise(x, self.card)                        # statistics of the volume
            keep = np.flatnonzero(y.reshape(len(y), -1).any(axis=1))
            keep = keep[np.linspace(0, len(keep) - 1, self.per_view).round().astype(int)]
            rng = np.random.default_rng([self.seed, k, a])
            x, y = x[keep], y[keep].astype(np.uint8)
            if self.crop:
                x, y, _ = data.random_crops(x, y, self.shape, seed=int(rng.integers(2**31)))
            else:
                x = data.pad_to_shape(x, self.shape)[0]
                y = data.pad_to_shape(y, self.shape)[0]
            flip = self.flip[a]
            if flip is not None:                                       # mirror a random half
                mirrored = rng.random(len(x)) < 0.5
                x[mirrored] = np.flip(x[mirrored], axis=flip)
                y[mirrored] = np.flip(y[mirrored], axis=flip)
            xs.append(x)
            ys.append(y)
        return np.concatenate(xs), np.concatenate(ys)


class EpochBlocks:
    """Batches for fit: epoch e trains on the samples of its own subjects,
    made when the epoch starts; a brain is never seen twice."""

    def __init__(self, sampler, ids_per_epoch, batch_size, n_classes, seed):
        self.sampler, self.ids_per_epoch = sampler, ids_per_epoch
        self.batch_size, self.n_classes, self.seed = batch_size, n_classes, seed
        self.n_samples = len(ids_per_epoch[0]) * sampler.samples_per_subject()
        self.epoch = 0

    def __len__(self):
        return math.ceil(self.n_samples / self.batch_size)

    def __iter__(self):
        e = self.epoch % len(self.ids_per_epoch)
        self.epoch += 1
        x, y = self.sampler.subjects(self.ids_per_epoch[e])
        yield from data.BatchIterator(x, y, batch_size=self.batch_size,
                                      n_classes=self.n_classes,
                                      seed=np.random.default_rng([self.seed, e]))
