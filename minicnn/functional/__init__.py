"""Pure kernel functions: ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> gradients``. One module per concept; no state."""
