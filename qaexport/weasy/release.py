"""The installed WeasyPrint release, read before WeasyPrint is imported: the shortcuts taken while it loads
(``compat_libraries``, ``compat_fonttools``) each apply only to the releases they were checked against."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version


def unloaded_release_in(tested: range) -> bool:
    """Whether WeasyPrint is not imported yet and its installed major release is one of ``tested``: what each shortcut
    taken while it loads was checked against."""
    if "weasyprint" in sys.modules:
        return False
    try:
        major = int(version("weasyprint").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return False
    return major in tested
