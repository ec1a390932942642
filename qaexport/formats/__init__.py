"""What the formats themselves define, below both the sources that read them and the exporters that write them.

The Markdown bank's syntax and parser (read by ``sources/markdown``, checked against by ``exporters/markdown_bank``),
the Anki package's file names, and the HTML content format (what of it may stay, and its plain text). Nothing here
walks folders or renders; an exporter that needs to know a format imports it from here, never from a source.
"""
