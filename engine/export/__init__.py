"""A finished run as files: its downloads and standalone script (files), and reading a model file back (load)."""
