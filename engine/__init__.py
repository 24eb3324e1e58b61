"""makemore playground engine: the lectures' models in plain PyTorch, no Streamlit.

Tiny tensors on two cores run up to 30x slower with intra-op threads, and the
web server needs the other core, so torch gets one thread unless
MAKEMORE_THREADS says otherwise. In every thread: torch.set_num_threads holds
only for the thread that calls it, and Streamlit runs each script in a thread of
its own, so OpenMP and MKL also get the number from their variables, which they
read when torch loads (an embedding's PCA in a script thread: 0.2 ms, not 23 ms).
"""

import os

THREADS = os.environ.get("MAKEMORE_THREADS", "1")
for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, THREADS)

import torch  # noqa: E402  (after the variables: OpenMP and MKL read them when torch loads)

torch.set_num_threads(int(THREADS))
