"""Keras twins of minicnn's model builders, for whole-model parity tests.

Each function builds, with keras layers in float64, the model the minicnn
builder of the same name builds, layer for layer and in the same order, so
``keras_model.set_weights(model.get_weights())`` lines the weights up. They
are written from the course's description, independently of
``minicnn.models.builders``: a builder that drifts from the course's
architecture fails the parity tests.

Keras is imported when a twin is built, not with this module, so the tests
that import these builders still run without Keras; the builders skip the
calling test instead (keras_helpers.import_keras).
"""
import numpy as np

from keras_helpers import import_keras, import_tensorflow

F64 = "float64"


def keras_conv_stack(input_shape, n_classes, filters, kernel_size=3, dropout=None,
                     dilation_rate=1, final_activation="softmax"):
    keras = import_keras()
    L = keras.layers
    inputs = x = keras.Input(input_shape, dtype=F64)
    for f in filters:
        x = L.Conv2D(f, kernel_size, padding="same", dilation_rate=dilation_rate,
                     activation="relu", dtype=F64)(x)
        if dropout is not None:
            x = L.Dropout(dropout, dtype=F64)(x)
    outputs = L.Conv2D(n_classes, 1, activation=final_activation, dtype=F64)(x)
    return keras.Model(inputs, outputs)


def keras_unet(input_shape, n_classes, filters=(32, 64, 128), bottleneck=256,
               upsampling="nearest", input_batchnorm=True, padding="same", dropout=0.0):
    keras = import_keras()
    L = keras.layers

    def block(x, f):
        x = L.Conv2D(f, 3, padding=padding, activation="relu", dtype=F64)(x)
        x = L.Conv2D(f, 3, padding=padding, activation="relu", dtype=F64)(x)
        return L.Dropout(dropout, dtype=F64)(x) if dropout else x

    inputs = x = keras.Input(input_shape, dtype=F64)
    if input_batchnorm:
        x = L.BatchNormalization(dtype=F64)(x)
    skips = []
    for f in filters:
        x = block(x, f)
        skips.append(x)
        x = L.MaxPooling2D(2, dtype=F64)(x)
    x = block(x, bottleneck)
    for f, skip in zip(reversed(filters), reversed(skips)):
        if upsampling == "nearest":
            x = L.UpSampling2D(2, dtype=F64)(x)
        else:
            x = L.Conv2DTranspose(f, 2, strides=2, padding=padding, dtype=F64)(x)
        if padding == "valid":
            dh = skip.shape[1] - x.shape[1]
            dw = skip.shape[2] - x.shape[2]
            skip = L.Cropping2D(((dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2)),
                                dtype=F64)(skip)
        x = L.Concatenate(axis=3, dtype=F64)([x, skip])
        x = block(x, f)
    outputs = L.Conv2D(n_classes, 1, activation="softmax", dtype=F64)(x)
    return keras.Model(inputs, outputs)


def keras_loss_gradients(kmodel, x, y, training):
    """(y_pred, loss, [dL/dw for trainable weights]) with tf.GradientTape."""
    keras, tf = import_keras(), import_tensorflow()
    loss_fn = keras.losses.CategoricalCrossentropy(dtype="float64")
    with tf.GradientTape() as tape:
        y_pred = kmodel(tf.constant(x), training=training)
        loss = loss_fn(tf.constant(y), y_pred)
    grads = tape.gradient(loss, kmodel.trainable_weights)
    return y_pred.numpy(), float(loss), [g.numpy() for g in grads]


def one_hot_targets(rng, shape, n_classes):
    """Random one-hot labels of shape `shape` + (n_classes,), float64."""
    return np.eye(n_classes)[rng.integers(0, n_classes, size=shape)]
