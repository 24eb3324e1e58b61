"""Lecture 5 (makemore part 4, Backprop ninja): the chunked net, the manual backward, its checks and its training."""
