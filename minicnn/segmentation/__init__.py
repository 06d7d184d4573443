"""Segmenting brain volumes with a trained 2D network: the library behind
``minicnn train`` and ``minicnn predict``.

    model, card = segmentation.load_model("model.npz", (8, 8, 1))   # any H, W
    result = segmentation.segment_scan(model, card, image, affine)  # a user's scan
    result.labels, result.probabilities, result.findings

One concept per module, each building on the ones before:

- ``views``: a normalised RAS+ volume through a 2D network, slice by slice,
  along one or more views (sagittal, coronal, axial), probabilities averaged;
- ``card``: the model card beside the weights (how to rebuild the network
  and how to feed it), the named models, saving and loading;
- ``checks``: a whole head refused, a brain volume outside an adult's;
- ``scan``: a scan as a user brings it (any voxel order and size):
  reorient, check, resample, normalise, segment, and back;
- ``refine``: the network's probabilities refined by the subject's own
  intensities (spatial priors for a Gaussian mixture fitted by EM);
- ``outputs``: what a segmentation leaves behind (posterior maps, volume
  tables) and, for a folder of subjects, which files go where;
- ``scoring``: Dice and accuracy of held-out whole volumes;
- ``job``: the main job's data (synthetic subjects, views, slices, crops);
- ``colours``: one colour per tissue class, for every figure.

It builds on ``minicnn.data`` (volumes in and out) and ``minicnn.models``;
the command line (``minicnn.cli``) only parses arguments, calls these and
prints.
"""
from .card import (CARD_FORMAT, CARD_VERSION, MODELS, build, card_path, crop_margin_voxels,
                   load_card, load_model, new_card, normalise, save_model, write_json)
from .checks import WholeHeadError, check_brain_volume, refuse_whole_head
from .scan import ScanSegmentation, segment_at_card_voxels, segment_scan, views_to_run
from .views import (VIEWS, brain_bounding_box, padded_slice_shape, parse_views,
                    segment_views, segment_volume, view_axes)
from . import colours, job, outputs, refine, scoring
