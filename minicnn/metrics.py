"""Metrics: Dice, accuracy and the baseline a metric has with no learning."""
