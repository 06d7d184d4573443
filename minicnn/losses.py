"""Losses with Keras semantics and hand-written gradients."""
