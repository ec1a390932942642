"""Sphinx configuration: the docs are Markdown (MyST), built in the tests with warnings as errors (``-W``)."""

project = "qaexport"
author = "qaexport contributors"
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3  # `page.md#a-heading` links, as GitHub renders them
myst_enable_extensions = ["colon_fence"]
html_theme = "furo"
html_title = "qaexport"
suppress_warnings: list[str] = []
