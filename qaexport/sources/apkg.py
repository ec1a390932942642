"""Source plugin: Anki packages (``.apkg`` decks, ``.colpkg`` collections); the reading itself is
:mod:`.apkg_reading`, loaded when a package is read.

Why apart: the command line loads every reader for its options' flags, and the reading's modules (nh3, the Anki
package and archive formats, the HTML sanitiser, the Markdown bank format) cost ~12 ms of CPU at the start of every
command, in series before any work (an EPUB of 560 questions spends ~0.2 s there with the other core idle), though
most runs read no package. The reading's names are reached through this module as before (``apkg.read_package``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from ..formats.anki_archive import INSTALL_HINT, ZIP_MAGIC
from ..formats.anki_package import SUFFIXES
from ..plugins import option
from ..records import ReadResult
from . import SourceBase


@dataclass
class ApkgOptions:
    all_cards: bool = option(False, "Anki packages: print every card of each note (reversed cards too), not just "
                                    "each note's first card (a cloze note is always one question, all its deletions).")


class ApkgReader(SourceBase):
    """Source plugin: Anki packages (.apkg decks, .colpkg collections)."""

    name = "apkg"
    suffixes = SUFFIXES
    description = "Anki packages (.apkg/.colpkg), rendered with Anki's own card templates"

    Options = ApkgOptions

    def __init__(self, options: ApkgOptions | None = None) -> None:
        self.all_cards = (options or ApkgOptions()).all_cards

    def sniff(self, head: bytes) -> bool:
        return head[:4] in ZIP_MAGIC

    @classmethod
    def unavailable(cls) -> str:
        """The install hint while the apkg extra (the ``anki`` package, zstandard) is missing; found without
        importing them (``anki`` alone takes ~0.3 s). A folder source skips a package with it (a deck beside the bank
        must not stop every command on the folder)."""
        try:
            found = all(find_spec(name) is not None for name in ("anki.collection", "zstandard"))
        except (ImportError, ValueError):  # a parent that is not a package, or an import blocked (None in modules)
            found = False
        return "" if found else INSTALL_HINT

    def read(self, path: Path) -> ReadResult:
        from .apkg_reading import read_package

        return read_package(path, all_cards=self.all_cards)


def __getattr__(name: str) -> Any:
    """The reading's names (``read_package``, ``deck_levels``, ...), loaded with it at their first use."""
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(".apkg_reading", __package__), name)
