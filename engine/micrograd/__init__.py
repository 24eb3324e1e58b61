"""Lecture 1 (micrograd, backpropagation): a scalar Value, the tiny MLP, the backward trace, the checks."""
