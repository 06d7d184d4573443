"""Linear interpolation along one axis between two grids: the matrix.

Resizing a signal of n_in samples to n_out samples by linear interpolation is
a linear map, an (n_out, n_in) matrix W with y = W x. Bilinear upsampling
(``upsampling.bilinear_matrix``) and the resampling of a volume to another
voxel size (``minicnn.data.resample``) both use the matrix built here.

Half-pixel centres
------------------
Sample k of a grid covers the interval [k, k + 1) of its own units, so its
centre is k + 1/2. With d_in and d_out the spacings of the input and output
samples (any common unit: mm, or pixels of one of the grids), the centre of
output sample j lies at input coordinate

    u(j) = (j + 1/2) d_out / d_in - 1/2,   clamped to [0, n_in - 1]

(tf.image.resize's 'half_pixel_centers'; the first and last samples of both
grids share their outer edge when n_out d_out = n_in d_in). Only the ratio
r = d_out / d_in matters, but it is given as two numbers and evaluated left
to right, ((j + 1/2) d_out) / d_in, so that an integer upsampling factor s
(d_out = 1, d_in = s) reads exactly (j + 1/2) / s: multiplying by a rounded
1/s instead differs in the last bit for s = 3, 5, 6, 7, ...

Output j takes the two input samples around u(j), with weights that fall
linearly with the distance:

    lo = floor(u),  hi = min(lo + 1, n_in - 1),  f = u - lo
    W[j, lo] += 1 - f,   W[j, hi] += f                (each row sums to 1)

Clamping u is what tf.image.resize does at the edges: outputs beyond the
centre of the first (last) input sample copy it. At u = n_in - 1, lo = hi
and f = 0, so the row is a single 1; n_in = 1 makes every row that 1.

Example, upsampling n_in = 3 by 2 (d_out = 1, d_in = 2): u = (-0.25, 0.25,
0.75, 1.25, 1.75, 2.25) clamped to (0, 0.25, 0.75, 1.25, 1.75, 2), and

        [[1,    0,    0   ],
         [0.75, 0.25, 0   ],
    W =  [0.25, 0.75, 0   ],
         [0,    0.75, 0.25],
         [0,    0.25, 0.75],
         [0,    0,    1   ]]

Downsampling by 2 (d_out = 2, d_in = 1) reads u = 2 j + 1/2: the mean of
samples 2j and 2j + 1.
"""
import numpy as np

from .. import _validate


def linear_interpolation_matrix(n_out, n_in, out_spacing, in_spacing, dtype=np.float64):
    """The (n_out, n_in) half-pixel linear interpolation matrix of one axis.

    Row j interpolates the input at u(j) = (j + 1/2) out_spacing / in_spacing
    - 1/2, clamped to [0, n_in - 1] (see the module docstring). The spacings
    are the distances between neighbouring samples of the output and input
    grids in any common unit; the weights are computed in float64 and
    returned as `dtype`.
    """
    n_out = _validate.positive_int(n_out, "n_out")
    n_in = _validate.positive_int(n_in, "n_in")
    out_spacing = _validate.positive_number(out_spacing, "out_spacing")
    in_spacing = _validate.positive_number(in_spacing, "in_spacing")
    rows = np.arange(n_out)
    u = np.clip((rows + 0.5) * out_spacing / in_spacing - 0.5, 0, n_in - 1)
    lo = np.floor(u).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = u - lo
    matrix = np.zeros((n_out, n_in))
    # Each statement writes one entry per row, so += never hits an entry twice;
    # where lo == hi (the clamped last sample) the second adds a weight of 0.
    matrix[rows, lo] += 1 - frac
    matrix[rows, hi] += frac
    return matrix.astype(dtype)
