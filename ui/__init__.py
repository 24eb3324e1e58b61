"""Streamlit glue shared by the pages: the session's dataset, cached engine calls, charts."""
