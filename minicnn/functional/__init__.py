"""Pure kernel functions: ``*_forward(...) -> (y, cache)`` and
``*_backward(dy, cache) -> gradients``. One module per concept; no state."""
