"""Serving runs to a class: records, the run cache, training slots and the hub that joins them."""
