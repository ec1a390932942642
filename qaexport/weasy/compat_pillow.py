"""Pillow loaded when WeasyPrint first uses it, not when it loads.

This reaches past WeasyPrint's and Pillow's public behaviour (what modules they import, and when), so it lives here
alone, bounded to the WeasyPrint releases whose imports were checked (:data:`TESTED`), and
``tests/test_weasy_compat_pillow.py`` checks it.

WeasyPrint imports five of Pillow's modules as it loads (``weasyprint.images``, ``weasyprint.draw.text``,
``weasyprint.css``): ~0.03 s of CPU in the layout process the author's loop waits for (``weasy.warm``: it is the
longer side before the job comes, 2026-12-05). It uses them only for raster images, colour profiles (``@color-profile``)
and colour-bitmap glyphs; a booklet of text, code and SVG drawings never does. So while WeasyPrint loads, each of the
five is a stand-in (:mod:`.stand_ins`) in ``sys.modules`` and on the ``PIL`` package: the first use of any name in any
of them, and the one class WeasyPrint takes by name as it loads (``ImageCmsProfile``, a forwarding function: WeasyPrint
only calls it), loads all five real modules in their place. The two settings WeasyPrint makes as it loads
(``ImageFile.LOAD_TRUNCATED_IMAGES``, ``EpsImagePlugin.gs_binary``) are kept on the stand-ins and made on the real
modules as they load. The same calls reach the same functions: the PDFs are the same bytes.
"""

from __future__ import annotations

import types

from .stand_ins import StandIns

#: The WeasyPrint releases (major versions) whose modules were checked to import these and to use them only as above
#: (pyproject.toml bounds WeasyPrint to them).
TESTED = range(68, 71)
#: The modules deferred, and the names WeasyPrint takes from each as it loads (given as forwarding functions).
DEFERRED: dict[str, tuple[str, ...]] = {
    "PIL.Image": (), "PIL.ImageFile": (), "PIL.ImageOps": (), "PIL.EpsImagePlugin": (),
    "PIL.ImageCms": ("ImageCmsProfile",),
}


_STAND_INS = StandIns(DEFERRED, TESTED, package="PIL", together=True)


def applies() -> bool:
    """Whether the modules are deferred: a checked WeasyPrint not yet imported, and none of the modules loaded yet."""
    return _STAND_INS.applies()


def defer() -> None:
    """Put the stand-ins in place (call before WeasyPrint is imported; nothing where :func:`applies` says no)."""
    _STAND_INS.defer()


def load(name: str) -> types.ModuleType:
    """The real module ``name``; all the stand-ins still in place replaced first by their real modules (one of them
    imports the others: none may find a stand-in), each given the settings made on its stand-in."""
    return _STAND_INS.load(name)


def deferred(name: str) -> bool:
    """Whether ``name`` is still a stand-in (tests)."""
    return _STAND_INS.deferred_still(name)
