"""WeasyPrint's stock stylesheets parsed when first used, not as it loads; the lean user-agent sheet parsed instead.

This reaches past WeasyPrint's public behaviour (what its ``weasyprint.html`` module makes as it loads), so it lives
here alone, bounded to the WeasyPrint releases whose module was checked (:data:`TESTED`), and
``tests/test_weasy_stock_sheets.py`` checks it.

WeasyPrint parses three stylesheets as it loads (``weasyprint.html``): its user-agent sheet ``html5_ua.css`` (18 KiB),
the forms' sheet and the presentational hints' sheet (4.5 KiB). Our layouts use none of the three: the lean
user-agent sheet (``compat.html_class``, a second parse of the same source without its universal pseudo-element rules)
replaces the first, and no document has forms or presentational hints. In the layout process started ahead
(``weasy.warm``) the two parses of the UA sheet were ~0.03 s of CPU each on the run's longest path.

So while ``weasyprint.html`` loads, its ``CSS`` makes each of the three a sheet that parses itself, exactly as
WeasyPrint would have, the first time anything of it is looked up (:class:`_Unparsed`; a document laid out with the
public ``weasyprint.HTML`` does, and lays out as before), and the lean sheet is parsed in the stock one's place
(:func:`lean_sheet` gives it to ``compat``). The lean parse fills WeasyPrint's user-agent counter styles as the stock
parse did: the same ``@counter-style`` rules in the same order (the lean source only lacks the universal
pseudo-element rules), so a document reads the same counter styles either way. Where the lean source cannot be made
(another sheet than the one checked), the stock sheet is parsed as it loads, as before.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import re
import sys
import types
from collections.abc import Sequence
from typing import Any

from .release import unloaded_release_in

#: The WeasyPrint releases (major versions) whose ``weasyprint.html`` was checked to make its stock sheets with
#: ``CSS(string=...)`` as it loads and nowhere else (pyproject.toml bounds WeasyPrint to them).
TESTED = range(68, 71)
MODULE = "weasyprint.html"

#: The universal pseudo-element rules, one per line in html5_ua.css (the lean sheet scopes the first, drops the rest).
UNIVERSAL = re.compile(r"^::(marker|footnote-call|footnote-marker|note-call|note-marker|note-callback)"
                       r" \{([^}\n]*)\}$", re.MULTILINE)
#: Rules every tested release has (68–69 have no ``::note-*`` rules; 70 adds three).
REQUIRED = {"marker", "footnote-call", "footnote-marker"}


def lean_source(source: str) -> str | None:
    """``source`` (WeasyPrint's UA sheet) with the marker rule scoped to list items and the note rules removed; None
    when the rules are not there as expected."""
    found: list[str] = []

    def scoped(match: re.Match[str]) -> str:
        found.append(match.group(1))
        return f":is(li, summary)::marker {{{match.group(2)}}}" if match.group(1) == "marker" else ""

    lean = UNIVERSAL.sub(scoped, source)
    return lean if len(set(found)) == len(found) and set(found) >= REQUIRED else None


#: The lean sheet parsed while WeasyPrint loaded: (the stock sheet it stands for, its source, the sheet).
_lean: list[tuple[Any, str, Any]] = []


def lean_sheet(stock: Any, source: str) -> Any | None:
    """The lean sheet of ``source`` parsed as WeasyPrint loaded, if it was parsed for the sheet ``stock``."""
    return next((sheet for of, made_from, sheet in _lean if of is stock and made_from == source), None)


def _unparsed_class(css: type) -> type:
    class _Unparsed(css):  # type: ignore[misc,valid-type]
        """A stock sheet that parses itself (WeasyPrint's ``CSS.__init__`` with the arguments it was made with) when
        anything of it is first looked up."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.__dict__["_pending"] = (args, kwargs)

        def __getattr__(self, name: str) -> Any:
            pending = self.__dict__.pop("_pending", None)
            if pending is None:
                raise AttributeError(name)
            css.__init__(self, *pending[0], **pending[1])
            return getattr(self, name)

    return _Unparsed


def parsed(sheet: Any) -> bool:
    """Whether ``sheet`` is parsed (a stock sheet left unparsed is not, until used) (tests)."""
    return "_pending" not in getattr(sheet, "__dict__", {})


class _Loader(importlib.abc.Loader):
    """``weasyprint.html``'s own loader, run with the package's ``CSS`` making unparsed sheets (and the lean one)."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        package = sys.modules["weasyprint"]
        css = package.CSS
        unparsed = _unparsed_class(css)

        def make(*args: Any, **kwargs: Any) -> Any:
            string = kwargs.get("string")
            if args or not isinstance(string, str) or set(kwargs) - {"string", "counter_style"}:
                return css(*args, **kwargs)  # not a call this was checked for: as WeasyPrint would
            if string is getattr(module, "UA", None):
                lean = lean_source(string)
                if lean is None:
                    return css(*args, **kwargs)
                sheet = unparsed(**kwargs)
                _lean.append((sheet, lean, css(string=lean, counter_style=kwargs.get("counter_style"))))
                return sheet
            return unparsed(**kwargs)

        package.CSS = make
        try:
            self.loader.exec_module(module)  # type: ignore[attr-defined]
        finally:
            package.CSS = css
            module.CSS = css  # type: ignore[attr-defined]


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``weasyprint.html`` once, with :class:`_Loader` around its own loader."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: types.ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if name != MODULE:
            return None
        _remove()
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader)
        return spec


def _remove() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _Finder)]


def applies() -> bool:
    """Whether the stock sheets are left unparsed: a checked WeasyPrint not yet imported."""
    return unloaded_release_in(TESTED)


def defer() -> None:
    """Put the finder in place (call before WeasyPrint is imported; nothing where :func:`applies` says no)."""
    if applies():
        _remove()
        sys.meta_path.insert(0, _Finder())


def done() -> None:
    """After WeasyPrint's import: the finder removed (it removes itself when it finds the module)."""
    _remove()
