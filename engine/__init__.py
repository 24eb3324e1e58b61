"""makemore playground engine: the lectures' models in plain PyTorch, no Streamlit.

Tiny tensors on two cores run up to 30x slower with intra-op threads, and the
web server needs the other core, so torch gets one thread unless
MAKEMORE_THREADS says otherwise.
"""

import os

import torch

torch.set_num_threads(int(os.environ.get("MAKEMORE_THREADS", "1")))
