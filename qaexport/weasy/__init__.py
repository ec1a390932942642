"""The one WeasyPrint engine under the print exporters (PDF booklet, flashcards).

``layout`` (the document setup, the fetchers that fetch nothing but the library's media and named package files,
progress and missing glyphs from WeasyPrint's log, layout in a child process), ``parts`` (a big book laid out in
parts at once and merged with pikepdf; pieces concatenated), ``fonts`` (bundled fonts and the glyph check) and
``compat``, the one module that reaches past WeasyPrint's public API (the lean user-agent stylesheet).
"""

import warnings

# WeasyPrint warns when it is imported on a machine whose fontconfig knows no font ("Expect ugly output"): the
# books name every face they use from a package of their own (books/fonts.py), so nothing is ugly and nothing to
# say. Installed before WeasyPrint is imported, which only this package does.
for _message in ("No fonts configured in FontConfig", "FontConfig cannot load default config file"):
    warnings.filterwarnings("ignore", message=_message, category=UserWarning)
