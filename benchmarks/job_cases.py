"""The main job's own network and convolutions (minicnn's side; PyTorch's is
in ``torch_cases.py``).

``minicnn train`` trains ``models.unet((80, 96, 1), 4)``: the course's U-Net
(an input BatchNormalization; two 3x3 conv + ReLU per level with 32, 64,
128 filters; 2x2 max pooling; a 256-filter bottleneck; 2x nearest
upsampling, the upsampled tensor concatenated before its skip; a 1x1 conv
with softmax to 4 classes), Adam, categorical cross-entropy, batches of 4
slices of 80 x 96 (2 mm slices padded to a multiple of 8). Timed here:

- its training step (minicnn's ``train_on_batch`` on one-hot labels, the
  cross-entropy computed from the softmax's logits as Keras's fit does;
  PyTorch's zero_grad / forward / ``F.cross_entropy`` on the logits /
  backward / step) and its forward pass (``predict_on_batch``; PyTorch's
  forward and softmax under ``no_grad``);
- its 3x3 convolutions at the shapes it runs them, batch 4, NHWC written:
  forward is conv + bias + ReLU (minicnn's Conv2D(activation='relu') runs
  the fused ``conv2d_relu`` operation of the backend table), backward is
  every gradient of that (input, kernel, bias: what the layer computes).
"""
import numpy as np

JOB_BATCH, JOB_SHAPE, JOB_CLASSES = 4, (80, 96), 4
JOB_FILTERS, JOB_BOTTLENECK = (32, 64, 128), 256

# (H, W, C_in, C_out): the first conv of each level, the 32 -> 32 conv, and
# the decoder's first convs (their input is the concatenation).
JOB_CONV3 = [(80, 96, 1, 32), (80, 96, 32, 32), (80, 96, 96, 32),
             (40, 48, 192, 64), (20, 24, 384, 128)]
JOB_CONV3_KINDS = ("forward", "backward")


def job_conv3_name(h, w, c_in, c_out, kind):
    return f"job conv3x3+relu {kind} {h}x{w}x{c_in}->{c_out}"


JOB_OPS = [(job_conv3_name(h, w, ci, co, kind), f"{JOB_BATCH}x{h}x{w}x{ci} -> {co}")
           for h, w, ci, co in JOB_CONV3 for kind in JOB_CONV3_KINDS]
JOB_NET = [("job U-Net training step", f"{JOB_BATCH}x80x96x1, course U-Net"),
           ("job U-Net forward", f"{JOB_BATCH}x80x96x1, course U-Net")]


def minicnn_job(backend_name):
    """{case: callable} for minicnn on `backend_name`: the job's convs and network."""
    import minicnn
    from minicnn import backend, losses, models, optimizers
    from minicnn.functional import conv
    minicnn.set_backend(backend_name)
    rng = np.random.default_rng(0)
    cases = {}
    for h, w, ci, co in JOB_CONV3:
        x = rng.standard_normal((JOB_BATCH, h, w, ci), dtype=np.float32)
        k = rng.standard_normal((3, 3, ci, co), dtype=np.float32) * 0.1
        b = rng.standard_normal((co,), dtype=np.float32)
        dy = rng.standard_normal((JOB_BATCH, h, w, co), dtype=np.float32)
        geom = conv.conv_geometry((h, w), (3, 3), (1, 1), (1, 1), "same")
        pair = backend.choose("conv2d_relu", x, k, b, geom)
        _, cache = pair.forward(x, k, b, geom)
        cases[job_conv3_name(h, w, ci, co, "forward")] = (
            lambda x=x, k=k, b=b, g=geom, p=pair: p.forward(x, k, b, g))
        cases[job_conv3_name(h, w, ci, co, "backward")] = (
            lambda dy=dy, c=cache, p=pair: p.backward(dy, c))

    minicnn.set_random_seed(0)
    model = models.unet(JOB_SHAPE + (1,), JOB_CLASSES)
    model.compile(optimizer=optimizers.Adam(1e-3), loss=losses.CategoricalCrossentropy())
    x = rng.random((JOB_BATCH, *JOB_SHAPE, 1), dtype=np.float32)
    labels = rng.integers(0, JOB_CLASSES, (JOB_BATCH, *JOB_SHAPE))
    onehot = np.eye(JOB_CLASSES, dtype=np.float32)[labels]
    cases["job U-Net training step"] = lambda: model.train_on_batch(x, onehot)
    cases["job U-Net forward"] = lambda: model.predict_on_batch(x)
    return cases
