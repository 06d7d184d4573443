"""Loss kernels: cross-entropies and soft Dice, forward and backward.

Shapes: ``y_pred`` is (N, H, W, C): N images, H x W pixels, C classes (any
rank works: (N, C) for plain classification too). Every cross-entropy is
computed per pixel, then averaged; with ``count = N * H * W`` pixels,

    value = (1 / count) * sum_pixels loss_pixel            (a scalar)

which is Keras's 'sum_over_batch_size' reduction. Each backward takes dy,
the gradient arriving at the loss's output (a number: 1 when the loss is the
objective itself), and returns d(dy * value) / d y_pred; the 1 / count is the
reduction's own factor.
``eps = 1e-7`` is Keras's ``backend.epsilon()``; logs are natural.

Categorical cross-entropy (y one-hot over the class axis)
    probabilities:  s = sum_c p_c,   r = p / s,   q = clip(r, eps, 1 - eps)
                    loss_pixel = -sum_c y_c log q_c
                    g_c = -m_c y_c / q_c,  m_c = 1 if eps <= r_c <= 1 - eps else 0
                    dL/dp_j = (g_j - sum_c g_c r_c) / s       (per pixel, / count)
    logits:         loss_pixel = -sum_c y_c log softmax(z)_c
                    dL/dz = softmax(z) * sum_c y_c - y  (= softmax(z) - y, one-hot y)

Sparse categorical cross-entropy (integer label k per pixel)
    probabilities:  q = clip(p, eps, 1 - eps),   S = sum_c q_c
                    loss_pixel = log S - log q_k          (Keras clips first,
                    then renormalises: the order is the opposite of the
                    categorical case, so the two differ when p is clipped)
                    dL/dp_c = m_c (1 / S - [c == k] / q_k)
    logits:         loss_pixel = -log softmax(z)_k,   dL/dz = softmax(z) - onehot(k)

Binary cross-entropy (every element of (N, H, W, C) is its own yes/no
question; count = N * H * W * C)
    probabilities:  q = clip(p, eps, 1 - eps)   (no eps is added inside the log)
                    loss = -(y log q + (1 - y) log(1 - q))
                    dL/dp = m ((1 - y) / (1 - q) - y / q)
    logits:         loss = max(z, 0) - z y + log(1 + exp(-|z|))   (never overflows)
                    dL/dz = sigmoid(z) - y

From logits whose activation has run already (the training step: the
output layer computed p = softmax(z) once, keeping log sum_c exp z_c):
    categorical     log softmax(z)_c = z_c - log_normaliser,  so
                    loss_pixel = -sum_c y_c (z_c - log_normaliser)
    sparse          loss_pixel = log_normaliser - z_k
    binary          the logits form above, with sigmoid(z) given
each with the same cache, and so the same backward, as the logits form:
nothing is exponentiated again (``*_from_softmax``, ``*_from_sigmoid``).

The clipping mask m is what TensorFlow's gradient of clip_by_value does: the
gradient passes where the value lies inside [eps, 1 - eps] (bounds included)
and is zero outside, where the clipped value no longer depends on p.

Soft Dice loss (y one-hot, p probabilities; sums over the pixels of one
image, so each image n and class c has its own score)
    I = sum_hw y p,   Y = sum_hw y,   P = sum_hw p,   D = Y + P + smooth
    dice_nc = (2 I + smooth) / D
    value = 1 - (1 / (N C)) sum_nc dice_nc
    dL/dp_nhwc = -(1 / (N C)) (2 y_nhwc - dice_nc) / D_nc

``cross_entropy_bits`` is the slides' formula in bits, for checking the
course's arithmetic by hand.
"""
import numpy as np


EPSILON = 1e-7          # keras.backend.epsilon()


def _log_softmax(z):
    """log softmax over the last axis, shifted by the max so exp never overflows."""
    shifted = z - z.max(axis=-1, keepdims=True)                 # (..., C), <= 0
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _clip(p):
    """(clip(p, eps, 1 - eps), mask where the gradient passes)."""
    inside = (p >= EPSILON) & (p <= 1.0 - EPSILON)
    return np.clip(p, EPSILON, 1.0 - EPSILON), inside


def _pixel_count(shape):
    """The number of per-pixel losses: every axis but the class axis."""
    return int(np.prod(shape[:-1]))


# ---------------------------------------------------------- categorical ---
def categorical_crossentropy_forward(y_true, y_pred, from_logits=False, axis=-1):
    """Mean categorical cross-entropy over all pixels; classes along `axis`.

    y_true, y_pred: same shape, e.g. (N, H, W, C). Returns (value, cache).
    """
    # Work with the class axis last; backward moves the gradient back.
    y = np.moveaxis(y_true, axis, -1)                            # (N, H, W, C)
    p = np.moveaxis(y_pred, axis, -1)                            # (N, H, W, C)
    cache = {"from_logits": from_logits, "axis": axis, "y": y,
             "count": _pixel_count(p.shape)}
    if from_logits:
        log_q = _log_softmax(p)
        cache["softmax"] = np.exp(log_q)
    else:
        s = p.sum(axis=-1, keepdims=True)                        # (N, H, W, 1)
        r = p / s                                                # rows sum to 1
        q, inside = _clip(r)
        log_q = np.log(q)
        cache.update(s=s, r=r, q=q, inside=inside)
    value = -(y * log_q).sum(axis=-1).mean()                     # mean of (N, H, W)
    return value, cache


def categorical_crossentropy_from_softmax(y_true, z, softmax, log_normaliser):
    """The from-logits cross-entropy of z, classes last, given p = softmax(z)
    and log_normaliser = log sum_c exp z_c (N, H, W, 1). Returns (value,
    cache), the cache of the from-logits forward."""
    value = -(y_true * (z - log_normaliser)).sum(axis=-1).mean()
    return value, {"from_logits": True, "axis": -1, "y": y_true,
                   "count": _pixel_count(z.shape), "softmax": softmax}


def categorical_crossentropy_backward(dy, cache):
    """d(dy * value) / d y_pred, same shape as y_pred."""
    y = cache["y"]
    scale = dy / cache["count"]
    if cache["from_logits"]:
        d = scale * (cache["softmax"] * y.sum(axis=-1, keepdims=True) - y)
    else:
        r = cache["r"]
        g = scale * np.where(cache["inside"], -y / cache["q"], 0.0)   # dL/dr
        d = (g - (g * r).sum(axis=-1, keepdims=True)) / cache["s"]    # via r = p / s
    return np.moveaxis(d, -1, cache["axis"])


# --------------------------------------------------- sparse categorical ---
def sparse_categorical_crossentropy_forward(labels, y_pred, from_logits=False):
    """Mean cross-entropy with integer labels.

    labels: (N, H, W) integers in [0, C); y_pred: (N, H, W, C).
    Returns (value, cache).
    """
    index = labels[..., None]                                    # (N, H, W, 1)
    cache = {"from_logits": from_logits, "count": _pixel_count(y_pred.shape),
             "onehot": index == np.arange(y_pred.shape[-1])}     # (N, H, W, C)
    if from_logits:
        log_q = _log_softmax(y_pred)
        cache["softmax"] = np.exp(log_q)
        per_pixel = -np.take_along_axis(log_q, index, axis=-1)   # (N, H, W, 1)
    else:
        q, inside = _clip(y_pred)
        total = q.sum(axis=-1, keepdims=True)                    # (N, H, W, 1)
        q_label = np.take_along_axis(q, index, axis=-1)          # (N, H, W, 1)
        per_pixel = np.log(total) - np.log(q_label)
        cache.update(total=total, q_label=q_label, inside=inside)
    return per_pixel.mean(), cache


def sparse_categorical_crossentropy_from_softmax(labels, z, softmax, log_normaliser):
    """The from-logits sparse cross-entropy of z given p = softmax(z) and
    log_normaliser = log sum_c exp z_c (N, H, W, 1). Returns (value, cache)."""
    index = labels[..., None]                                    # (N, H, W, 1)
    per_pixel = log_normaliser - np.take_along_axis(z, index, axis=-1)
    return per_pixel.mean(), {"from_logits": True, "count": _pixel_count(z.shape),
                              "onehot": index == np.arange(z.shape[-1]),
                              "softmax": softmax}


def sparse_categorical_crossentropy_backward(dy, cache):
    """d(dy * value) / d y_pred, shape (N, H, W, C)."""
    onehot = cache["onehot"]
    scale = dy / cache["count"]
    if cache["from_logits"]:
        return scale * (cache["softmax"] - onehot)
    dq = 1.0 / cache["total"] - onehot / cache["q_label"]
    return scale * np.where(cache["inside"], dq, 0.0)


# --------------------------------------------------------------- binary ---
def binary_crossentropy_forward(y_true, y_pred, from_logits=False):
    """Mean binary cross-entropy over every element. Returns (value, cache)."""
    cache = {"from_logits": from_logits, "y": y_true, "count": y_pred.size}
    if from_logits:
        z = y_pred
        # log(1 + exp(z)) - z y rewritten with exp(-|z|) <= 1.
        e = np.exp(-np.abs(z))
        per_element = np.maximum(z, 0.0) - z * y_true + np.log1p(e)
        cache["sigmoid"] = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    else:
        q, inside = _clip(y_pred)
        per_element = -(y_true * np.log(q) + (1.0 - y_true) * np.log(1.0 - q))
        cache.update(q=q, inside=inside)
    return per_element.mean(), cache


def binary_crossentropy_from_sigmoid(y_true, z, sigmoid):
    """The from-logits binary cross-entropy of z given sigmoid(z). Returns
    (value, cache)."""
    per_element = np.maximum(z, 0.0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
    return per_element.mean(), {"from_logits": True, "y": y_true, "count": z.size,
                                "sigmoid": sigmoid}


def binary_crossentropy_backward(dy, cache):
    """d(dy * value) / d y_pred, same shape as y_pred."""
    y = cache["y"]
    scale = dy / cache["count"]
    if cache["from_logits"]:
        return scale * (cache["sigmoid"] - y)
    q = cache["q"]
    return scale * np.where(cache["inside"], (1.0 - y) / (1.0 - q) - y / q, 0.0)


# ---------------------------------------------------------------- Dice ---
def dice_loss_forward(y_true, y_pred, smooth=1.0):
    """1 - mean over images and classes of the smoothed soft Dice.

    y_true (one-hot), y_pred (probabilities): (N, H, W, C). Returns (value, cache).
    """
    pixel_axes = tuple(range(1, y_pred.ndim - 1))                # (1, 2) for NHWC
    intersection = (y_true * y_pred).sum(axis=pixel_axes)       # (N, C)
    denominator = (y_true.sum(axis=pixel_axes) + y_pred.sum(axis=pixel_axes)
                   + smooth)                                    # (N, C)
    dice = (2.0 * intersection + smooth) / denominator          # (N, C)
    cache = {"y": y_true, "dice": dice, "denominator": denominator}
    return 1.0 - dice.mean(), cache


def dice_loss_backward(dy, cache):
    """d(dy * value) / d y_pred, shape (N, H, W, C)."""
    y, dice, denominator = cache["y"], cache["dice"], cache["denominator"]
    # (N, C) -> (N, 1, 1, C), so per-image, per-class terms broadcast over pixels.
    per_image_class = (y.shape[0],) + (1,) * (y.ndim - 2) + (y.shape[-1],)
    dice = dice.reshape(per_image_class)
    denominator = denominator.reshape(per_image_class)
    return -(dy / dice.size) * (2.0 * y - dice) / denominator


# ------------------------------------------------------- course helper ---
def cross_entropy_bits(y_true, y_pred):
    """Cross-entropy of each example in bits, as the course's slides write it.

        CE_i = -sum_c y_ic log2(p_ic)                 shape (N,) from (N, C)

    No clipping and no mean: the slides' worked example adds these up, and
    the formula's 1/N turns that sum into a mean. Terms with y_ic = 0 count
    as 0 (the limit of 0 * log 0), so a predicted 0 for a wrong class is fine.
    Keras uses natural logs: its value is mean(CE_i) * ln 2.

    >>> cross_entropy_bits(np.array([[1., 0.]]), np.array([[0.5, 0.5]]))
    array([1.])
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError("y_true and y_pred must have the same shape, "
                         f"got {y_true.shape} and {y_pred.shape}")
    log2_p = np.log2(y_pred, out=np.zeros_like(y_pred), where=y_true != 0)
    return -(y_true * log2_p).sum(axis=-1)
