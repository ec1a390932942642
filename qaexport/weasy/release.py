"""The installed WeasyPrint release, read before WeasyPrint is imported: the shortcuts taken while it loads
(``compat_libraries``, ``compat_fonttools``, ``compat_pillow``) each apply only to the releases they were checked
against."""

from __future__ import annotations

import importlib
import os
import re
import sys

#: A wheel's installed metadata folder: its name and release (the wheel format names it so).
DIST_INFO = re.compile(r"weasyprint-([0-9][^-]*)\.dist-info", re.IGNORECASE)
#: Any installed metadata of WeasyPrint's (a wheel's, an egg's, a development install's).
METADATA = re.compile(r"weasyprint([-.][^/]*)?\.(dist-info|egg-info|egg)", re.IGNORECASE)


def unloaded_release_in(tested: range) -> bool:
    """Whether WeasyPrint is not imported yet and its installed major release is one of ``tested``: what each shortcut
    taken while it loads was checked against."""
    if "weasyprint" in sys.modules:
        return False
    try:
        major = int(installed_release().split(".")[0])
    except ValueError:
        return False
    return major in tested


def installed_release() -> str:
    """WeasyPrint's installed release ("" when not installed), as ``importlib.metadata.version`` gives it.

    Why not that alone: importing ``importlib.metadata`` (with the ``email`` package it loads) and its search cost
    ~0.017 s of CPU in the layout process started ahead (``weasy.warm``), which waits for nothing else before
    WeasyPrint's import. The first folder on the import path that holds WeasyPrint's metadata is the one it reads:
    where that is a wheel's ``weasyprint-<release>.dist-info`` folder, alone of its name there, its name says the
    release; anything else (an egg, a zip on the path, two metadata folders) asks ``importlib.metadata``."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            if entry and os.path.exists(entry):
                break  # a zip file or another path item that may hold it: the library's own search decides
            continue
        metadata = [name for name in names if METADATA.fullmatch(name)]
        if not metadata:
            continue
        found = DIST_INFO.fullmatch(metadata[0])
        if len(metadata) == 1 and found:
            return found.group(1)
        break
    return _release_from_metadata()


def _release_from_metadata() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("weasyprint")
    except PackageNotFoundError:
        return ""


def library_release(module: str) -> str:
    """The release of the library ``module`` as it says itself (its ``__version__``; imported if it is not yet): the
    compat modules' check of cffi's and pydyf's releases, which the layout process makes as it loads, read it so,
    not through ``importlib.metadata`` (see :func:`installed_release`)."""
    return str(importlib.import_module(module).__version__)
