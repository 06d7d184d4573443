"""Adam without its bias correction: the step size is lr itself.

m and v start at 0, so in the first steps they are about (1 - beta_1^t) and
(1 - beta_2^t) times the running means they stand for; without correcting
that, the first steps are sqrt(1 - beta_2^t) / (1 - beta_1^t) times the
right size (0.32 at t = 1 with Keras's rates: too small by 3.2).
"""
import numpy as np


def adam_update(param, grad, m, v, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                v_hat=None):
    """One Adam step, in place."""
    m += (1 - beta_1) * (grad - m)
    v += (1 - beta_2) * (grad * grad - v)
    if v_hat is not None:
        np.maximum(v_hat, v, out=v_hat)
        v = v_hat
    param -= lr * m / (np.sqrt(v) + epsilon)        # THE MISTAKE: lr, not the corrected rate
