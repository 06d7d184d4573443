"""Metrics: loop oracles, Keras parity, streaming over batches, baselines, bad input."""
import numpy as np
import pytest

from minicnn import metrics

PARITY_TOL = 1e-10
SHAPES = [(2, 3, 5, 3), (3, 5, 2, 2), (2, 1, 1, 4), (4, 3)]


def _labels(shape, seed=0):
    return np.random.default_rng(seed).integers(0, shape[-1], shape[:-1])


def _onehot(labels, n_classes):
    return np.eye(n_classes)[labels]


def _probabilities(shape, seed=0):
    """Distinct random values per pixel, so the argmax has no ties."""
    p = np.random.default_rng(seed + 100).random(shape)
    return p / p.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------- oracles ---
def oracle_accuracy(y_true, y_pred):
    pixels = list(np.ndindex(y_pred.shape[:-1]))
    hits = sum(int(np.argmax(y_true[i]) == np.argmax(y_pred[i])) for i in pixels)
    return hits / len(pixels)


def oracle_dice_per_class(labels, predicted, n_classes):
    """Set-based Dice: 2 |T and P| / (|T| + |P|) per class, NaN if both empty."""
    cells = list(np.ndindex(labels.shape))
    out = {}
    for c in range(n_classes):
        t = {i for i in cells if labels[i] == c}
        p = {i for i in cells if predicted[i] == c}
        out[c] = 2 * len(t & p) / (len(t) + len(p)) if t or p else float("nan")
    return out


# ------------------------------------------------------------ accuracy ---
@pytest.mark.parametrize("shape", SHAPES)
def test_categorical_accuracy_matches_loop_oracle(shape):
    y_true, y_pred = _onehot(_labels(shape), shape[-1]), _probabilities(shape)
    value = metrics.categorical_accuracy(y_true, y_pred)
    assert value == pytest.approx(oracle_accuracy(y_true, y_pred), abs=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
def test_categorical_accuracy_matches_keras(shape, keras):
    y_true, y_pred = _onehot(_labels(shape), shape[-1]), _probabilities(shape)
    value = metrics.categorical_accuracy(y_true, y_pred)
    # Keras's per-pixel matches are exact 0/1 float32; average them in float64.
    keras_matches = np.asarray(keras.metrics.categorical_accuracy(y_true, y_pred))
    assert abs(value - np.mean(keras_matches, dtype=np.float64)) < PARITY_TOL


def test_categorical_accuracy_takes_integer_labels():
    shape = (2, 4, 5, 3)
    labels, y_pred = _labels(shape), _probabilities(shape)
    value = metrics.categorical_accuracy(labels, y_pred)
    assert value == metrics.categorical_accuracy(_onehot(labels, 3), y_pred)
    assert value == metrics.categorical_accuracy(labels[..., None], y_pred)
    with pytest.raises(ValueError, match=r"y_true labels must lie in \[0, 3\).*got 3"):
        metrics.categorical_accuracy(np.full(shape[:-1], 3), y_pred)


def test_categorical_accuracy_on_integer_labels_matches_keras_sparse_accuracy(keras):
    shape = (2, 4, 5, 3)
    labels, y_pred = _labels(shape), _probabilities(shape)
    value = metrics.categorical_accuracy(labels, y_pred)
    keras_matches = np.asarray(keras.metrics.sparse_categorical_accuracy(labels, y_pred))
    assert abs(value - np.mean(keras_matches, dtype=np.float64)) < PARITY_TOL


def _binary_case(threshold):
    """(y_true, y_pred) with one pixel's prediction exactly on the threshold."""
    y_true = (np.random.default_rng(0).random((2, 3, 5, 2)) > 0.5).astype(np.float64)
    y_pred = np.random.default_rng(1).random((2, 3, 5, 2))
    y_true[0, 0, 0] = 0.0
    y_pred[0, 0, 0] = threshold                 # not > threshold: predicted 0, a match
    return y_true, y_pred


@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_binary_accuracy_including_values_on_the_threshold(threshold):
    y_true, y_pred = _binary_case(threshold)
    value = metrics.binary_accuracy(y_true, y_pred, threshold=threshold)
    expected = np.mean((y_pred > threshold) == (y_true == 1))
    assert value == expected
    one_pixel = metrics.binary_accuracy(y_true[:1, :1, :1], y_pred[:1, :1, :1], threshold)
    assert one_pixel == 1.0


@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_binary_accuracy_matches_keras_including_values_on_the_threshold(threshold, keras):
    y_true, y_pred = _binary_case(threshold)
    value = metrics.binary_accuracy(y_true, y_pred, threshold=threshold)
    keras_matches = np.asarray(keras.metrics.binary_accuracy(y_true, y_pred, threshold))
    assert abs(value - np.mean(keras_matches, dtype=np.float64)) < PARITY_TOL


def test_stateful_accuracies_match_keras_over_batches_of_different_sizes(keras):
    rng = np.random.default_rng(5)
    ours = [metrics.CategoricalAccuracy(), metrics.BinaryAccuracy(threshold=0.4)]
    theirs = [keras.metrics.CategoricalAccuracy(dtype="float64"),
              keras.metrics.BinaryAccuracy(threshold=0.4, dtype="float64")]
    for n in (2, 3, 1):
        y_cat = _onehot(rng.integers(0, 3, (n, 4, 5)), 3)
        p_cat = rng.random((n, 4, 5, 3))
        y_bin = (rng.random((n, 4, 5, 1)) > 0.5).astype(np.float64)
        p_bin = rng.random((n, 4, 5, 1))
        for m, k, (y, p) in zip(ours, theirs, [(y_cat, p_cat), (y_bin, p_bin)]):
            m.update_state(y, p)
            k.update_state(y, p)
            assert abs(m.result() - float(k.result())) < PARITY_TOL
    assert ours[0].name == theirs[0].name == "categorical_accuracy"
    assert ours[1].name == theirs[1].name == "binary_accuracy"


def test_accuracy_state_accumulates_and_resets():
    m = metrics.CategoricalAccuracy()
    assert m.result() == 0.0                    # as Keras, before any update
    y = _onehot(np.array([[0, 1, 2, 0]]), 3)
    p = y.copy()
    p[0, 0] = [0.1, 0.8, 0.1]                   # one pixel in four wrong
    assert m(y, p) == 0.75
    m.update_state(y, y)                        # one more image, all right
    assert m.result() == (0.75 + 1) / 2
    m.reset_state()
    assert m.result() == 0.0 and m.count == 0


def test_binary_accuracy_class_over_unequal_batches_worked_by_hand():
    """BinaryAccuracy(threshold=0.4), one value per image:
        batch 1: y = [1, 0], p = [0.4, 0.39] -> 0.4 is not > 0.4, so predicted
                 0 (wrong), 0.39 predicted 0 (right): 1 of 2
        batch 2: y = [1, 1, 0], p = [0.41, 0.9, 0.1]: 3 of 3
    result = 4 / 5 = 0.8 (the mean of the two batch means would be 0.75)."""
    m = metrics.BinaryAccuracy(threshold=0.4)
    assert m.name == "binary_accuracy"
    m.update_state(np.array([[1.0], [0.0]]), np.array([[0.4], [0.39]]))
    assert m.result() == 0.5
    m.update_state(np.array([[1.0], [1.0], [0.0]]), np.array([[0.41], [0.9], [0.1]]))
    assert m.result() == pytest.approx(0.8, abs=1e-15)


def test_categorical_accuracy_class_over_unequal_batches_worked_by_hand():
    """Images of 2 pixels, batches of 2 and then 1 image:
        batch 1: image 0 has 1 of 2 right (0.5), image 1 both (1.0)
        batch 2: image 2 none (0.0)
    result = (0.5 + 1 + 0) / 3 = 0.5 (the mean of the batch means: 0.375)."""
    m = metrics.CategoricalAccuracy()
    assert m.name == "categorical_accuracy"
    y = _onehot(np.array([[0, 1], [1, 1]]), 2)
    p = _onehot(np.array([[0, 0], [1, 1]]), 2)
    m.update_state(y, p)
    assert m.result() == 0.75
    m.update_state(_onehot(np.array([[0, 0]]), 2), _onehot(np.array([[1, 1]]), 2))
    assert m.result() == pytest.approx(0.5, abs=1e-15)


@pytest.mark.parametrize("cls", [metrics.CategoricalAccuracy, metrics.BinaryAccuracy])
def test_accuracy_classes_average_images_not_pixels(cls):
    """Keras's semantics (its Mean reduces each sample to its own mean first):
        batch A: one image of 1 x 4 pixels, 1 right -> 1/4
        batch B: one image of 2 x 4 pixels, all 8 right -> 1
    result = (1/4 + 1) / 2 = 0.625; pooling the pixels would give 9/12 = 0.75."""
    m = cls()
    if cls is metrics.CategoricalAccuracy:
        y_a, p_a = _onehot(np.array([[[0, 0, 0, 0]]]), 2), _onehot(np.array([[[0, 1, 1, 1]]]), 2)
        y_b = _onehot(np.zeros((1, 2, 4), dtype=int), 2)
    else:
        y_a, p_a = np.array([[[[1.0], [0.0], [0.0], [0.0]]]]), np.full((1, 1, 4, 1), 0.9)
        y_b = np.ones((1, 2, 4, 1))
    m.update_state(y_a, p_a)
    assert m.result() == 0.25
    m.update_state(y_b, y_b)
    assert m.result() == 0.625


def test_categorical_accuracy_refuses_one_channel():
    with pytest.raises(ValueError, match=r"C >= 2.*\(2, 3, 1\).*binary_accuracy"):
        metrics.categorical_accuracy(np.ones((2, 3, 1)), np.ones((2, 3, 1)))


# ---------------------------------------------------------------- Dice ---
@pytest.mark.parametrize("shape", SHAPES)
def test_hard_dice_matches_set_oracle(shape):
    labels, y_pred = _labels(shape), _probabilities(shape)
    expected = oracle_dice_per_class(labels, y_pred.argmax(axis=-1), shape[-1])
    per_class = metrics.dice_per_class(_onehot(labels, shape[-1]), y_pred)
    np.testing.assert_allclose(list(per_class.values()), list(expected.values()),
                               rtol=1e-14)
    present = [v for v in expected.values() if not np.isnan(v)]
    assert metrics.dice_coefficient(labels, y_pred) == pytest.approx(np.mean(present))


def test_dice_is_related_to_keras_iou_per_class(keras):
    """Dice = 2 J / (1 + J) for the intersection-over-union J, class by class."""
    shape = (2, 6, 5, 3)
    labels, y_pred = _labels(shape), _probabilities(shape)
    per_class = metrics.dice_per_class(labels, y_pred)
    for c in range(3):
        iou = keras.metrics.IoU(num_classes=3, target_class_ids=[c])
        iou.update_state(labels, y_pred.argmax(axis=-1))
        j = float(iou.result())
        assert per_class[c] == pytest.approx(2 * j / (1 + j), abs=1e-6)


def test_perfect_overlap_is_1_and_disjoint_is_0():
    y = _onehot(np.array([[[0, 1], [1, 0]]]), 2)     # (1, 2, 2, 2)
    assert metrics.dice_coefficient(y, y) == 1.0   # the slide's (2 x |1|) / (1 + 1)
    assert metrics.dice_coefficient(y, y[..., ::-1]) == 0.0
    assert metrics.dice_coefficient(y, y, mode="soft") == 1.0


def test_label_inputs_give_the_same_dice_as_one_hot():
    shape = (2, 4, 5, 3)
    labels, y_pred = _labels(shape), _probabilities(shape)
    from_onehot = metrics.dice_per_class(_onehot(labels, 3), y_pred)
    assert metrics.dice_per_class(labels, y_pred) == from_onehot
    assert metrics.dice_per_class(labels[..., None], y_pred) == from_onehot
    maps = metrics.dice_per_class(labels, y_pred.argmax(axis=-1), n_classes=3)
    assert maps == from_onehot
    soft = metrics.dice_per_class(labels, y_pred, mode="soft")
    assert soft == metrics.dice_per_class(_onehot(labels, 3), y_pred, mode="soft")


def test_soft_dice_formula_and_hard_on_one_hot_predictions():
    shape = (2, 4, 5, 3)
    y_true, y_pred = _onehot(_labels(shape), 3), _probabilities(shape)
    inter = (y_true * y_pred).sum(axis=(0, 1, 2))
    expected = 2 * inter / (y_true.sum(axis=(0, 1, 2)) + y_pred.sum(axis=(0, 1, 2)))
    soft = metrics.dice_per_class(y_true, y_pred, mode="soft")
    np.testing.assert_allclose(list(soft.values()), expected, rtol=1e-13)
    hard_pred = _onehot(y_pred.argmax(axis=-1), 3)
    assert metrics.dice_per_class(y_true, hard_pred, mode="soft") == \
        pytest.approx(metrics.dice_per_class(y_true, y_pred), rel=1e-14)


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_dice_streaming_equals_the_whole_set(mode):
    """Totals are pooled, so the split into batches does not matter."""
    shape = (5, 4, 3, 3)
    y_true, y_pred = _onehot(_labels(shape), 3), _probabilities(shape)
    whole = metrics.dice_per_class(y_true, y_pred, mode=mode)
    m = metrics.Dice(mode=mode)
    for start, stop in [(0, 2), (2, 3), (3, 5)]:
        m.update_state(y_true[start:stop], y_pred[start:stop])
    assert m.result_per_class() == pytest.approx(whole, rel=1e-14)
    m.reset_state()
    m.update_state(y_true[:1], y_pred[:1])
    assert m.result_per_class() == pytest.approx(
        metrics.dice_per_class(y_true[:1], y_pred[:1], mode=mode), rel=1e-14)


def test_absent_class_is_excluded_not_counted_as_1():
    labels = np.array([[[0, 0, 1], [0, 1, 1]]])      # class 2 absent from the truth
    y_pred = _onehot(np.array([[[0, 1, 1], [0, 1, 1]]]), 3)  # ... and the prediction
    per_class = metrics.dice_per_class(labels, y_pred)
    assert np.isnan(per_class[2])
    assert per_class[0] == pytest.approx(2 * 2 / (3 + 2))
    assert per_class[1] == pytest.approx(2 * 3 / (3 + 4))
    assert metrics.dice_coefficient(labels, y_pred) == pytest.approx(
        (per_class[0] + per_class[1]) / 2)          # mean of the two present classes
    assert np.isnan(metrics.dice_coefficient(labels, y_pred, class_ids=[2]))
    assert metrics.dice_coefficient(labels, y_pred, class_ids=[1, 2]) == per_class[1]


def test_dice_class_ids_and_name():
    m = metrics.Dice(class_ids=(1, 2))
    assert m.name == "dice" and metrics.Dice(name="dice_fg").name == "dice_fg"
    labels, y_pred = _labels((2, 4, 5, 3)), _probabilities((2, 4, 5, 3))
    per_class = metrics.dice_per_class(labels, y_pred)
    assert m(labels, y_pred) == pytest.approx((per_class[1] + per_class[2]) / 2)
    before = metrics.Dice(n_classes=3).result_per_class()   # known classes, none seen
    assert list(before) == [0, 1, 2] and all(np.isnan(v) for v in before.values())
    assert metrics.Dice().result_per_class() == {}          # classes not known yet
    assert np.isnan(metrics.Dice(class_ids=[1]).result())


# ------------------------------------------------------------ baseline ---
def _brain_slice():
    """A 110 x 92 slice: background, a grey-matter ring, a white-matter core."""
    rows, cols = np.mgrid[:110, :92]
    radius = np.hypot((rows - 55) / 38, (cols - 46) / 30)
    labels = np.zeros((110, 92), dtype=int)
    labels[radius < 1.0] = 1
    labels[radius < 0.6] = 2
    return labels[None]                                  # (1, 110, 92)


def test_baseline_accuracy_is_high_and_foreground_dice_is_0():
    labels = _brain_slice()
    y_true = _onehot(labels, 3)
    background = np.mean(labels == 0)
    assert background > 0.5
    assert metrics.baseline("accuracy", y_true) == pytest.approx(background)
    assert metrics.baseline(metrics.Dice(class_ids=[1, 2]), y_true) == 0.0
    per_class = metrics.Dice()
    metrics.baseline(per_class, y_true)
    assert per_class.intersection.size == 0             # its own state untouched
    # All classes: the background's Dice 2b / (b + 1), then 0 and 0, averaged.
    assert metrics.baseline("dice", y_true) == pytest.approx(
        (2 * background / (background + 1) + 0 + 0) / 3)


def test_slide_guess_all_0_scores_0_6():
    """The slide's "Guess all 0 -> metric = 0.6": 6 of 10 pixels are class 0."""
    labels = np.array([[0, 1, 0, 1, 0, 0, 1, 0, 1, 0]])
    assert metrics.baseline("categorical_accuracy", _onehot(labels, 2)) == 0.6
    assert metrics.baseline("binary_accuracy", labels[..., None].astype(float)) == 0.6
    assert metrics.baseline(metrics.categorical_accuracy, _onehot(labels, 2)) == 0.6


def test_baseline_predicts_the_majority_class_whichever_it_is():
    y = np.array([[[1.0], [1.0], [0.0]]])
    assert metrics.baseline("binary_accuracy", y) == pytest.approx(2 / 3)
    labels = np.array([[2, 2, 1, 2, 0, 2, 1]])             # class 2 on 4 of 7 pixels
    assert metrics.baseline("accuracy", _onehot(labels, 3)) == pytest.approx(4 / 7)
    assert metrics.baseline(metrics.Dice(class_ids=[2]), _onehot(labels, 3)) == \
        pytest.approx(2 * 4 / (4 + 7))


# -------------------------------------------------------- get, wrapper ---
@pytest.mark.parametrize("name,cls", [
    ("accuracy", metrics.CategoricalAccuracy), ("acc", metrics.CategoricalAccuracy),
    ("categorical_accuracy", metrics.CategoricalAccuracy),
    ("binary_accuracy", metrics.BinaryAccuracy), ("dice", metrics.Dice),
    ("Dice", metrics.Dice)])
def test_get_by_name(name, cls):
    m = metrics.get(name)
    assert type(m) is cls
    assert m.name == (cls.default_name if name == cls.__name__ else name)
    assert metrics.get(name) is not m


def test_get_objects_classes_and_functions():
    m = metrics.Dice(mode="soft")
    assert metrics.get(m) is m
    assert type(metrics.get(metrics.BinaryAccuracy)) is metrics.BinaryAccuracy
    wrapped = metrics.get(metrics.categorical_accuracy)
    assert isinstance(wrapped, metrics.MeanMetricWrapper)
    assert wrapped.name == "categorical_accuracy"


def test_mean_metric_wrapper_weights_batches_by_images():
    def first_value(y_true, y_pred):
        return float(y_pred.ravel()[0])
    m = metrics.MeanMetricWrapper(first_value)
    m.update_state(np.zeros((1, 2)), np.full((1, 2), 1.0))
    m.update_state(np.zeros((3, 2)), np.full((3, 2), 5.0))
    assert m.result() == (1.0 * 1 + 5.0 * 3) / 4


# ----------------------------------------------------------- bad input ---
def test_get_unknown_name_lists_the_allowed_ones():
    with pytest.raises(ValueError, match=r"'mae'.*allowed names.*'binary_accuracy'"):
        metrics.get("mae")
    with pytest.raises(TypeError, match="must subclass minicnn.metrics.Metric"):
        metrics.get(dict)
    with pytest.raises(TypeError, match="a name, a Metric or a function, got 3"):
        metrics.get(3)


def test_shape_mismatch():
    with pytest.raises(ValueError, match=r"one-hot of shape \(2, 3, 3\) or integer labels "
                                         r"of shape \(2, 3\), got shape \(2, 3, 2\)"):
        metrics.categorical_accuracy(np.ones((2, 3, 2)), np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match=r"y_true and y_pred .*\(2, 3, 2\) and \(2, 3, 1\)"):
        metrics.binary_accuracy(np.ones((2, 3, 2)), np.ones((2, 3, 1)))
    with pytest.raises(ValueError, match=r"one-hot of shape \(2, 3, 3\).*got shape \(2, 2\)"):
        metrics.dice_coefficient(np.ones((2, 2)), np.ones((2, 3, 3)))


def test_binary_accuracy_refuses_soft_labels_and_bad_threshold():
    with pytest.raises(ValueError, match="0/1 labels.*0.3"):
        metrics.binary_accuracy(np.full((2, 1), 0.3), np.full((2, 1), 0.6))
    with pytest.raises(TypeError, match="threshold must be a finite number, got 'high'"):
        metrics.BinaryAccuracy(threshold="high")
    with pytest.raises(ValueError, match="threshold must be a finite number, got nan"):
        metrics.binary_accuracy(np.ones((2, 1)), np.ones((2, 1)), threshold=float("nan"))


def test_dice_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of \\('hard', 'soft'\\), got 'fuzzy'"):
        metrics.Dice(mode="fuzzy")
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2, got 1"):
        metrics.Dice(n_classes=1)
    with pytest.raises(ValueError, match=r"class_ids must lie in \[0, 3\).*\(1, 3\)"):
        metrics.Dice(n_classes=3, class_ids=(1, 3))
    with pytest.raises(ValueError, match="class_ids must be distinct.*\\[1, 1\\]"):
        metrics.Dice(class_ids=[1, 1])
    with pytest.raises(ValueError, match=r"class_ids must lie in \[0, 2\).*\(4,\)"):
        metrics.Dice(class_ids=4).update_state(_labels((1, 2, 2, 2)), _probabilities((1, 2, 2, 2)))


def test_dice_bad_inputs():
    probs = _probabilities((2, 3, 4, 3))
    with pytest.raises(ValueError, match="n_classes is required.*integer labels"):
        metrics.dice_coefficient(_labels((2, 3, 4, 3)), probs.argmax(axis=-1))
    with pytest.raises(ValueError, match=r"n_classes=4 channels, got shape \(2, 3, 4, 3\)"):
        metrics.dice_coefficient(_labels((2, 3, 4, 3)), probs, n_classes=4)
    with pytest.raises(ValueError, match="hard Dice needs C >= 2.*mode='soft'"):
        metrics.dice_coefficient(np.ones((2, 3, 1)), np.ones((2, 3, 1)))
    with pytest.raises(ValueError, match=r"y_true labels must lie in \[0, 3\).*got 7"):
        metrics.dice_coefficient(np.full((2, 3, 4), 7), probs)
    with pytest.raises(ValueError, match=r"soft Dice needs probabilities in \[0, 1\], "
                                         r"got y_pred values from -"):
        metrics.dice_coefficient(_labels((2, 3, 4, 3)), probs - 1.0, mode="soft")
    m = metrics.Dice()
    m.update_state(_labels((2, 3, 4, 3)), probs)
    with pytest.raises(ValueError, match="y_pred has 2 classes, but earlier batches had 3"):
        m.update_state(_labels((2, 3, 4, 2)), _probabilities((2, 3, 4, 2)))


def test_baseline_bad_inputs():
    with pytest.raises(ValueError, match=r"y_true must be a non-empty array of rank >= 2.*\(4,\)"):
        metrics.baseline("accuracy", np.ones(4))
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        metrics.baseline("f1", np.ones((2, 2)))
