"""Modules a library imports as it loads, put off until they are first used: the one way ``compat_fonttools`` and
``compat_pillow`` defer what WeasyPrint imports and rarely needs.

Each module is a stand-in (:class:`_StandIn`) in ``sys.modules`` while WeasyPrint loads: the first use of any of its
names, and each name WeasyPrint takes from it by name as it loads (a forwarding function: WeasyPrint only calls
them), loads the real module in its place. Names WeasyPrint sets on a stand-in as it loads (its settings) are set on
the real module as that loads. The same calls reach the same functions, so what is drawn is the same bytes. Where
this applies is each compat module's to say (the WeasyPrint releases it was checked with), and each has its tests.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .release import unloaded_release_in


@dataclass(frozen=True)
class StandIns:
    """A set of modules put off together.

    ``deferred``: each module and the names WeasyPrint takes from it as it loads; ``tested``: the WeasyPrint releases
    (major versions) checked; ``package``: the package the stand-ins are also set on as attributes (where WeasyPrint
    imports them as ``from package import module``); ``together``: load them all on the first use of any (one of them
    imports the others, and none may then find a stand-in)."""

    deferred: Mapping[str, tuple[str, ...]]
    tested: range
    package: str | None = None
    together: bool = False

    def applies(self) -> bool:
        """Whether the modules are put off: a checked WeasyPrint not yet imported, and none of them loaded yet."""
        return not any(name in sys.modules for name in self.deferred) and unloaded_release_in(self.tested)

    def defer(self) -> None:
        """Put the stand-ins in place (call before WeasyPrint is imported; nothing where :meth:`applies` says no)."""
        if not self.applies():
            return
        package = None
        if self.package is not None:
            try:
                package = importlib.import_module(self.package)  # the package alone (its version, no module of it)
            except ImportError:
                return  # WeasyPrint's own import says what is missing
        for name, taken in self.deferred.items():
            stand_in = _StandIn(name, self)
            for attribute in taken:
                setattr(stand_in, attribute, self._forwarder(name, attribute))
            sys.modules[name] = stand_in
            if package is not None:
                setattr(package, name.rpartition(".")[2], stand_in)

    def load(self, name: str) -> types.ModuleType:
        """The real module ``name``, imported now if its stand-in (or, ``together``, any of them) is in its place;
        each given the settings made on its stand-in."""
        names = self.deferred if self.together else (name,)
        stand_ins = {key: module for key in names if isinstance(module := sys.modules.get(key), _StandIn)}
        for key in stand_ins:
            del sys.modules[key]  # the import then sets the real module on its parent package too
        for key, stand_in in stand_ins.items():
            real = importlib.import_module(key)
            for attribute, value in self._settings(stand_in).items():
                setattr(real, attribute, value)
        return importlib.import_module(name)

    def deferred_still(self, name: str) -> bool:
        """Whether ``name`` is still a stand-in (tests)."""
        return isinstance(sys.modules.get(name), _StandIn)

    def _settings(self, stand_in: _StandIn) -> dict[str, Any]:
        """What was set on ``stand_in`` after it was made (WeasyPrint's settings), but the forwarding functions."""
        taken = self.deferred[stand_in.__name__]
        return {key: value for key, value in vars(stand_in).items()
                if not (key.startswith("__") and key.endswith("__")) and key not in taken and key != "_stand_ins"}

    def _forwarder(self, module: str, name: str) -> Any:
        def forward(*args: Any, **kwargs: Any) -> Any:
            return getattr(self.load(module), name)(*args, **kwargs)

        forward.__name__ = forward.__qualname__ = name
        return forward


class _StandIn(types.ModuleType):
    """A module's stand-in: any name looked up loads the real module (it then replaces this one everywhere it is
    looked up by name) and gives the real module's."""

    def __init__(self, name: str, stand_ins: StandIns) -> None:
        super().__init__(name)
        self._stand_ins = stand_ins

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(self._stand_ins.load(self.__name__), name)
