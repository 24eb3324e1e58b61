"""Streamlit glue of makemore part 1 (bigrams): cached n-gram computations (state), charts (charts, neural)."""
