"""Models: ``Sequential``, the functional ``Model``, training and builders.

    from minicnn import layers, models

    inputs = layers.Input((104, 104, 1))
    ...
    model = models.Model(inputs, outputs)       # or models.unet((104, 104, 1), 2)
    model.compile(optimizer="adam", loss="categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=5, validation_split=0.15)

Modules, each readable on its own:

- ``graph``     the layer graph: Keras's order, forward, backward with summed
                gradients where a tensor feeds several layers;
- ``model``     Model and Sequential: forward/backward, weights;
- ``training``  compile, fit, evaluate, predict, train_on_batch;
- ``data``      batches from arrays, lists, Sequences and generators;
- ``summary``   Keras's summary table and parameter counts;
- ``saving``    weights in .npz (minicnn) and .weights.h5 (Keras) files;
- ``progress``  the progress bar;
- ``builders``  the course's networks and the U-Net.
"""
from .model import Model, Sequential
from .builders import (conv_stack, five_layer_cnn, simple_cnn, slide_demo, unet,
                       valid_unet_output_size)

__all__ = ["Model", "Sequential", "conv_stack", "five_layer_cnn", "simple_cnn",
           "slide_demo", "unet", "valid_unet_output_size"]
