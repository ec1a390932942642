"""fontTools' subsetter and variable-font instancer loaded when WeasyPrint first uses them, not when it loads.

This reaches past WeasyPrint's and fontTools' public behaviour (what modules they import, and when), so it lives here
alone, bounded to the WeasyPrint releases whose imports were checked (:data:`TESTED`), and
``tests/test_weasy_compat_fonttools.py`` checks it.

WeasyPrint's PDF font module (``weasyprint.pdf.fonts``) imports ``fontTools.subset`` and
``fontTools.varLib.instancer`` as it loads: ~0.1 s of CPU, a third of WeasyPrint's import (the subsetter pulls in
the OpenType tables, the variable-font builder, lxml, uharfbuzz), in every process that lays out a PDF, where the
author's loop waits for it (``weasy.warm``). It uses them only for a font HarfBuzz cannot subset (a HarfBuzz older than
4.1: then it warns) and for a variable font it draws with (the print faces are static instances,
``books/instances.py``); otherwise it subsets with HarfBuzz. So while WeasyPrint loads, each of the two modules is
a stand-in (:mod:`.stand_ins`) in ``sys.modules``: the first use of any of its names, and the one name WeasyPrint
takes from the instancer as it loads (``instantiateVariableFont``, a forwarding function), loads the real module in
its place. The same calls reach the same functions: the PDFs are the same bytes.
"""

from __future__ import annotations

import contextlib
import types

from .stand_ins import StandIns

#: The WeasyPrint releases (major versions) whose font module was checked to import the two modules and to use
#: them only as above (pyproject.toml bounds WeasyPrint to them).
TESTED = range(68, 71)
#: The modules deferred, and the names WeasyPrint takes from each as it loads (given as forwarding functions).
DEFERRED = {"fontTools.subset": (), "fontTools.varLib.instancer": ("instantiateVariableFont",)}


_STAND_INS = StandIns(DEFERRED, TESTED)


def applies() -> bool:
    """Whether the modules are deferred: a checked WeasyPrint not yet imported, and the two modules not yet loaded."""
    return _STAND_INS.applies()


def defer() -> None:
    """Put the stand-ins in place (call before WeasyPrint is imported; nothing where :func:`applies` says no)."""
    _STAND_INS.defer()


def load(name: str) -> types.ModuleType:
    """The real module ``name``, imported now if its stand-in is still in its place."""
    return _STAND_INS.load(name)


#: The font tables' modules fontTools loads as the instancer reads a variable font (the fallback faces' tables, and
#: the glyph names ``post`` reads), besides the two modules of :data:`DEFERRED`.
INSTANCING_TABLES = ("cmap", "post", "maxp", "head", "hhea", "vhea", "vmtx", "OS/2", "HVAR", "VVAR", "MVAR", "GDEF",
                     "STAT", "gasp", "avar", "gvar")


def load_for_instancing() -> None:
    """Load now what WeasyPrint loads the first time it turns a variable font into a static one as it writes a PDF
    (:data:`DEFERRED`, the tables' modules, the glyph names list): ~0.1 s of CPU and ~12 MiB.

    Why: a book laid out in parts draws each part in a process forked from this one, and each loaded these at the
    very end of its drawing, where a part's memory is largest (docs/benchmarks.md, "PDF 560: the parts' ends").
    Loaded before the forks, every part shares them. Importing a module changes nothing it does: the same bytes. A
    module missing from another fontTools is skipped (it is loaded, or not, as before)."""
    from fontTools.ttLib import getTableModule

    for name in (*DEFERRED, "fontTools.agl"):
        with contextlib.suppress(ImportError):
            load(name)
    for tag in INSTANCING_TABLES:
        with contextlib.suppress(ImportError):
            getTableModule(tag)


def deferred(name: str) -> bool:
    """Whether ``name`` is still a stand-in (tests)."""
    return _STAND_INS.deferred_still(name)
