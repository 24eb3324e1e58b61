"""Streamlit glue of makemore part 3 (activations, gradients, BatchNorm): the charts of the init
explorer and the diagnostics (charts), and of the BatchNorm page (batchnorm)."""
