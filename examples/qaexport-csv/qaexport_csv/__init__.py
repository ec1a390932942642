"""Example qaexport plugins: a CSV/TSV source and a TSV exporter, registered by entry points."""
