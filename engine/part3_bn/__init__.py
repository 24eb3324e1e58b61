"""Lecture 4 (makemore part 3, Activations & Gradients, BatchNorm): statistics, live runners, init, BatchNorm, zero init."""
