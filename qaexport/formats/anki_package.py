"""Anki packages as files: the suffixes that name them (the ``.apkg`` source reads them, the Anki exporter
declines to copy a deck that came from one)."""

from __future__ import annotations

#: ``.apkg`` (a deck) and ``.colpkg`` (a whole collection).
SUFFIXES = (".apkg", ".colpkg")
