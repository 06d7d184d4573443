"""summary() and count_params(): the course's numbers, checked against Keras.

| model (course-notes.md)            | params    |
|------------------------------------|-----------|
| slide demo, 1 / 2 / 3 layers       | 42 / 126 / 210 |
| simple CNN (+ dropout, dilation)   | 4,851     |
| 5-layer 5x5 exercise               | 24,379    |
| U-Net on (104, 104, 1), 2 classes  | 1,946,342, 2 non-trainable |
"""
import re

import pytest

from keras_models import keras_conv_stack, keras_unet
from minicnn import layers, models

COURSE = [
    (lambda: models.slide_demo(1), lambda: keras_conv_stack((110, 92, 1), 3, (3,), dropout=0.0), 42),
    (lambda: models.slide_demo(2), lambda: keras_conv_stack((110, 92, 1), 3, (3, 3), dropout=0.0), 126),
    (lambda: models.slide_demo(3), lambda: keras_conv_stack((110, 92, 1), 3, (3,) * 3, dropout=0.0), 210),
    (lambda: models.simple_cnn(), lambda: keras_conv_stack((110, 92, 1), 3, (16,) * 3), 4851),
    (lambda: models.simple_cnn(dropout=0.2),
     lambda: keras_conv_stack((110, 92, 1), 3, (16,) * 3, dropout=0.2), 4851),
    (lambda: models.simple_cnn(dilation_rate=2),
     lambda: keras_conv_stack((110, 92, 1), 3, (16,) * 3, dilation_rate=2), 4851),
    (lambda: models.five_layer_cnn(),
     lambda: keras_conv_stack((110, 92, 1), 3, (8, 8, 16, 16, 32), kernel_size=5), 24379),
]


def summary_text(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def totals(text):
    def number(label):
        return int(re.search(rf"^{label} params: ([\d,]+)$", text, re.M).group(1).replace(",", ""))
    return number("Total"), number("Trainable"), number("Non-trainable")


@pytest.mark.parametrize("build, expected", [(build, expected) for build, _, expected in COURSE])
def test_course_counts_match_the_course(build, expected):
    model = build()
    assert model.count_params() == expected
    assert totals(summary_text(model)) == (expected, expected, 0)


@pytest.mark.usefixtures("keras")
@pytest.mark.parametrize("build, build_keras, expected", COURSE)
def test_course_counts_and_layers_match_keras(build, build_keras, expected):
    model, kmodel = build(), build_keras()
    assert model.count_params() == expected == kmodel.count_params()
    assert [type(layer).__name__ for layer in model.layers] == \
        [type(layer).__name__ for layer in kmodel.layers]


def test_course_unet_counts():
    model = models.unet((104, 104, 1), 2)
    text = summary_text(model)
    assert totals(text) == (1946342, 1946340, 2)
    assert model.count_params() == 1946342
    assert "Total params: 1,946,342" in text


@pytest.mark.usefixtures("keras")
def test_course_unet_counts_match_keras():
    model = models.unet((104, 104, 1), 2)
    kmodel = keras_unet((104, 104, 1), 2)
    assert model.count_params() == kmodel.count_params() == 1946342
    non_trainable = sum(w.numpy().size for w in kmodel.non_trainable_weights)
    assert non_trainable == 2


@pytest.mark.usefixtures("keras")
def test_unet_variants_count_like_keras():
    for kwargs in ({"upsampling": "transpose"}, {"filters": (8, 16, 32, 64), "bottleneck": 128},
                   {"input_batchnorm": False, "dropout": 0.1}):
        model = models.unet((32, 32, 1), 3, **kwargs)
        kmodel = keras_unet((32, 32, 1), 3, **kwargs)
        assert model.count_params() == kmodel.count_params(), kwargs
        assert [w.shape for w in model.get_weights()] == \
            [tuple(w.shape) for w in kmodel.get_weights()], kwargs


def test_functional_table_rows():
    text = summary_text(models.slide_demo(1))
    rows = [line.split() for line in text.splitlines()]
    assert text.splitlines()[0].startswith('Model: "')
    assert "Connected to" in text
    conv = next(r for r in rows if r[1:2] == ["(Conv2D)"])
    assert conv[2:6] == ["(None,", "110,", "92,", "3)"] and conv[6] == "30"
    assert conv[7].endswith("[0][0]") and conv[7].startswith("input_layer")
    assert any(r[1:2] == ["(InputLayer)"] for r in rows)


def test_merge_rows_list_every_input():
    text = summary_text(models.unet((16, 16, 1), 2, filters=(2,), bottleneck=4))
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if "(Concatenate)" in line)
    assert "up_sampling2d" in lines[i] and "conv2d" in lines[i + 1].strip()


def test_sequential_table_has_no_input_row_and_no_connections():
    model = models.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(3, 3, padding="same"),
                               layers.BatchNormalization()])
    text = summary_text(model)
    assert "InputLayer" not in text and "Connected to" not in text
    assert totals(text) == (30 + 12, 30 + 6, 6)


def test_frozen_layer_counts_as_non_trainable(capsys):
    model = models.simple_cnn((8, 8, 1), 3)
    model.layers[1].trainable = False                 # 160 weights frozen
    model.summary()
    assert totals(capsys.readouterr().out) == (4851, 4851 - 160, 160)
