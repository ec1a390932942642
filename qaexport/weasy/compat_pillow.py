"""Pillow loaded when WeasyPrint first uses it, not when it loads.

This reaches past WeasyPrint's and Pillow's public behaviour (what modules they import, and when), so it lives here
alone, bounded to the WeasyPrint releases whose imports were checked (:data:`TESTED`), and
``tests/test_weasy_compat_pillow.py`` checks it.

WeasyPrint imports five of Pillow's modules as it loads (``weasyprint.images``, ``weasyprint.draw.text``,
``weasyprint.css``): ~0.03 s of CPU in the layout process the author's loop waits for (``weasy.warm``: it is the
longer side before the job comes, 2026-12-05). It uses them only for raster images, colour profiles (``@color-profile``)
and colour-bitmap glyphs; a booklet of text, code and SVG drawings never does. So while WeasyPrint loads, each of the
five is a stand-in (:class:`_Deferred`) in ``sys.modules`` and on the ``PIL`` package: the first use of any name in any
of them, and the one class WeasyPrint takes by name as it loads (``ImageCmsProfile``, a forwarding function: WeasyPrint
only calls it), loads all five real modules in their place. The two settings WeasyPrint makes as it loads
(``ImageFile.LOAD_TRUNCATED_IMAGES``, ``EpsImagePlugin.gs_binary``) are kept on the stand-ins and made on the real
modules as they load. The same calls reach the same functions: the PDFs are the same bytes.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from .release import unloaded_release_in

#: The WeasyPrint releases (major versions) whose modules were checked to import these and to use them only as above
#: (pyproject.toml bounds WeasyPrint to them).
TESTED = range(68, 71)
#: The modules deferred, and the names WeasyPrint takes from each as it loads (given as forwarding functions).
DEFERRED: dict[str, tuple[str, ...]] = {
    "PIL.Image": (), "PIL.ImageFile": (), "PIL.ImageOps": (), "PIL.EpsImagePlugin": (),
    "PIL.ImageCms": ("ImageCmsProfile",),
}


class _Deferred(types.ModuleType):
    """A module's stand-in: any name looked up loads the real modules (they then replace the stand-ins everywhere they
    are looked up by name) and gives the real module's. Names set on it are set on the real module as it loads."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(load(self.__name__), name)


def _settings(stand_in: _Deferred) -> dict[str, Any]:
    """What was set on ``stand_in`` after it was made (WeasyPrint's settings), but the forwarding functions."""
    taken = DEFERRED[stand_in.__name__]
    return {key: value for key, value in vars(stand_in).items()
            if not (key.startswith("__") and key.endswith("__")) and key not in taken}


def load(name: str) -> types.ModuleType:
    """The real module ``name``; all the stand-ins still in place replaced first by their real modules (one of them
    imports the others: none may find a stand-in), each given the settings made on its stand-in."""
    stand_ins = {key: module for key in DEFERRED if isinstance(module := sys.modules.get(key), _Deferred)}
    for key in stand_ins:
        del sys.modules[key]  # the import then sets the real module on its parent package too
    for key, stand_in in stand_ins.items():
        real = importlib.import_module(key)
        for attribute, value in _settings(stand_in).items():
            setattr(real, attribute, value)
    return importlib.import_module(name)


def _forwarder(module: str, name: str) -> Any:
    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(load(module), name)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = name
    return forward


def applies() -> bool:
    """Whether the modules are deferred: a checked WeasyPrint not yet imported, and none of the modules loaded yet."""
    return not any(name in sys.modules for name in DEFERRED) and unloaded_release_in(TESTED)


def defer() -> None:
    """Put the stand-ins in place (call before WeasyPrint is imported; nothing where :func:`applies` says no)."""
    if not applies():
        return
    try:
        package = importlib.import_module("PIL")  # the package alone: its version, no image code
    except ImportError:
        return  # WeasyPrint's own import says what is missing
    for name, taken in DEFERRED.items():
        stand_in = _Deferred(name)
        for attribute in taken:
            setattr(stand_in, attribute, _forwarder(name, attribute))
        sys.modules[name] = stand_in
        setattr(package, name.rpartition(".")[2], stand_in)


def deferred(name: str) -> bool:
    """Whether ``name`` is still a stand-in (tests)."""
    return isinstance(sys.modules.get(name), _Deferred)
