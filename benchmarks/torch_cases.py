"""The PyTorch side of ``cases.py``: the same ops and U-Net, NCHW, float32.

Backward passes call the ATen kernels autograd would call
(``convolution_backward``, ``max_pool2d_with_indices_backward``, ...), so
each row times one kernel, as on the minicnn side, without graph bookkeeping.
"""
import torch
import torch.nn.functional as F

from cases import (BATCH, BOTTLENECK, CLASSES, CONV3, FILTERS, IMAGE, conv3_name)
from job_cases import (JOB_BATCH, JOB_BOTTLENECK, JOB_CLASSES, JOB_CONV3, JOB_FILTERS,
                       JOB_SHAPE, job_conv3_name)

aten = torch.ops.aten


def _normal(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float32)


def _conv_backward(dy, x, w, bias_size, stride, padding, transposed, mask):
    return aten.convolution_backward(dy, x, w, bias_size, stride, padding, [1, 1],
                                     transposed, [0, 0], 1, mask)


def torch_ops():
    gen = torch.Generator().manual_seed(0)
    cases = {}
    with torch.no_grad():
        for s, ci, co in CONV3:
            x, w = _normal(gen, BATCH, ci, s, s), _normal(gen, co, ci, 3, 3) * 0.1
            b, dy = _normal(gen, co), _normal(gen, BATCH, co, s, s)
            cases[conv3_name(s, ci, co, "forward")] = (
                lambda x=x, w=w, b=b: F.conv2d(x, w, b, padding=1))
            cases[conv3_name(s, ci, co, "input grad")] = (
                lambda x=x, w=w, dy=dy: _conv_backward(dy, x, w, None, [1, 1], [1, 1],
                                                       False, [True, False, False]))
            cases[conv3_name(s, ci, co, "weight grad")] = (
                lambda x=x, w=w, dy=dy: _conv_backward(dy, x, w, None, [1, 1], [1, 1],
                                                       False, [False, True, False]))

        x = _normal(gen, BATCH, 16, 128, 128)
        pooled, index = F.max_pool2d(x, 2, return_indices=True)
        dpool = _normal(gen, *pooled.shape)
        cases["max pool 2x2 forward"] = lambda: F.max_pool2d(x, 2, return_indices=True)
        cases["max pool 2x2 backward"] = lambda: aten.max_pool2d_with_indices_backward(
            dpool, x, [2, 2], [2, 2], [0, 0], [1, 1], False, index)

        small = _normal(gen, BATCH, 32, 64, 64)
        dup = _normal(gen, BATCH, 32, 128, 128)
        cases["upsample nearest 2x forward"] = (
            lambda: F.interpolate(small, scale_factor=2, mode="nearest"))
        cases["upsample nearest 2x backward"] = lambda: aten.upsample_nearest2d_backward(
            dup, [128, 128], list(small.shape))

        w1, b1 = _normal(gen, CLASSES, 16, 1, 1), _normal(gen, CLASSES)
        dz = _normal(gen, BATCH, CLASSES, 128, 128)
        cases["conv1x1 forward"] = lambda: F.conv2d(x, w1, b1)
        cases["conv1x1 backward"] = lambda: _conv_backward(
            dz, x, w1, [CLASSES], [1, 1], [0, 0], False, [True, True, True])

        wt, bt = _normal(gen, 32, 16, 2, 2) * 0.1, _normal(gen, 16)
        dt = _normal(gen, BATCH, 16, 128, 128)
        cases["transpose conv 2x2/2 forward"] = (
            lambda: F.conv_transpose2d(small, wt, bt, stride=2))
        cases["transpose conv 2x2/2 backward"] = lambda: _conv_backward(
            dt, small, wt, [16], [2, 2], [0, 0], True, [True, True, True])

        relu_out = F.relu(x)
        drelu = _normal(gen, *x.shape)
        cases["relu forward"] = lambda: F.relu(x)
        cases["relu backward"] = lambda: aten.threshold_backward(drelu, relu_out, 0)

    logits = _normal(gen, BATCH, CLASSES, 128, 128).requires_grad_()
    labels = torch.randint(0, CLASSES, (BATCH, 128, 128), generator=gen)

    def cross_entropy():
        loss = F.cross_entropy(logits, labels)
        return torch.autograd.grad(loss, logits)
    cases["softmax cross-entropy fwd+bwd"] = cross_entropy
    return cases


def _block(c_in, c_out):
    """Two 3x3 'same' convolutions, each followed by ReLU."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(c_in, c_out, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(c_out, c_out, 3, padding=1), torch.nn.ReLU())


class UNet(torch.nn.Module):
    """The benchmark U-Net (see cases.py), written the usual PyTorch way."""

    def __init__(self):
        super().__init__()

        channels = [1, *FILTERS]
        self.down = torch.nn.ModuleList(_block(a, b) for a, b in zip(channels, FILTERS))
        self.middle = _block(FILTERS[-1], BOTTLENECK)
        widths = [BOTTLENECK, *reversed(FILTERS)]
        self.up = torch.nn.ModuleList(torch.nn.ConvTranspose2d(a, b, 2, stride=2)
                                      for a, b in zip(widths, widths[1:]))
        self.decode = torch.nn.ModuleList(_block(2 * f, f) for f in reversed(FILTERS))
        self.head = torch.nn.Conv2d(FILTERS[0], CLASSES, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.middle(x)
        for up, block, skip in zip(self.up, self.decode, reversed(skips)):
            x = block(torch.cat([up(x), skip], dim=1))
        return self.head(x)


def _step_and_forward(model, x, labels, softmax):
    """(training step, forward pass) of `model` on images x and integer labels:
    Adam on the cross-entropy of the logits; the forward pass under no_grad,
    ending in a softmax if `softmax` (as the minicnn model it stands beside)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    def forward():
        with torch.no_grad():
            logits = model(x)
            return torch.softmax(logits, dim=1) if softmax else logits
    return step, forward


def torch_unet():
    torch.manual_seed(0)
    model = UNet()
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, 1, IMAGE, IMAGE, generator=gen)
    y = torch.randint(0, CLASSES, (BATCH, IMAGE, IMAGE), generator=gen)
    step, forward = _step_and_forward(model, x, y, softmax=False)
    return {"U-Net training step": step, "U-Net forward": forward}


def torch_job():
    """job_cases.py's cases in PyTorch."""
    gen = torch.Generator().manual_seed(0)
    cases = {}
    with torch.no_grad():
        for h, w, ci, co in JOB_CONV3:
            x, k = _normal(gen, JOB_BATCH, ci, h, w), _normal(gen, co, ci, 3, 3) * 0.1
            b, dy = _normal(gen, co), _normal(gen, JOB_BATCH, co, h, w)
            y = F.relu(F.conv2d(x, k, b, padding=1))

            def backward(x=x, k=k, y=y, dy=dy, co=co):
                return _conv_backward(aten.threshold_backward(dy, y, 0), x, k, [co],
                                      [1, 1], [1, 1], False, [True, True, True])
            cases[job_conv3_name(h, w, ci, co, "forward")] = (
                lambda x=x, k=k, b=b: F.relu(F.conv2d(x, k, b, padding=1)))
            cases[job_conv3_name(h, w, ci, co, "backward")] = backward

    torch.manual_seed(0)
    model = CourseUNet()
    x = torch.rand(JOB_BATCH, 1, *JOB_SHAPE, generator=gen)
    labels = torch.randint(0, JOB_CLASSES, (JOB_BATCH, *JOB_SHAPE), generator=gen)
    step, forward = _step_and_forward(model, x, labels, softmax=True)
    cases["job U-Net training step"], cases["job U-Net forward"] = step, forward
    return cases


class CourseUNet(torch.nn.Module):
    """models.unet((80, 96, 1), 4), the main job's network, written the usual
    PyTorch way (logits out; Keras's BatchNormalization epsilon and momentum)."""

    def __init__(self):
        super().__init__()
        self.norm = torch.nn.BatchNorm2d(1, eps=1e-3, momentum=0.01)
        channels = [1, *JOB_FILTERS]
        self.down = torch.nn.ModuleList(_block(a, b) for a, b in zip(channels, JOB_FILTERS))
        self.middle = _block(JOB_FILTERS[-1], JOB_BOTTLENECK)
        widths = [JOB_BOTTLENECK, *reversed(JOB_FILTERS)]
        self.decode = torch.nn.ModuleList(_block(a + b, b) for a, b in zip(widths, widths[1:]))
        self.head = torch.nn.Conv2d(JOB_FILTERS[0], JOB_CLASSES, 1)

    def forward(self, x):
        x, skips = self.norm(x), []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.middle(x)
        for block, skip in zip(self.decode, reversed(skips)):
            upsampled = F.interpolate(x, scale_factor=2, mode="nearest")
            x = block(torch.cat([upsampled, skip], dim=1))
        return self.head(x)
