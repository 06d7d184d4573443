"""One colour per tissue class, for every figure minicnn draws.

The Okabe-Ito palette, chosen to stay distinct for colour-blind readers:

    background     black
    CSF            sky blue          (#56b4e9)
    grey matter    orange            (#e69f00)
    white matter   near-white        (#f2f2f2), as on a T1 image

A label map drawn on its own uses TISSUE_COLOURS. Drawn translucent over
the image (``OVERLAY_COLOURS``), background is left clear and white matter
becomes bluish green (#009e73): near-white would vanish over the white
matter's bright grey. Both are keyed by the class names of
``minicnn.datasets.icbm152`` (and of a model card).
"""

TISSUE_COLOURS = {"background": "#000000", "CSF": "#56b4e9",
                  "grey matter": "#e69f00", "white matter": "#f2f2f2"}
OVERLAY_COLOURS = {"background": None, "CSF": "#56b4e9",
                   "grey matter": "#e69f00", "white matter": "#009e73"}


OTHER_COLOURS = ("#000000", "#56b4e9", "#e69f00", "#009e73", "#f0e442", "#0072b2",
                 "#d55e00", "#cc79a7")


def colours_of(class_names, palette=TISSUE_COLOURS):
    """The colours of `class_names`, in order (see the module docstring)."""
    return [palette[name] if name in palette else OTHER_COLOURS[k % len(OTHER_COLOURS)]
            for k, name in enumerate(class_names)]
