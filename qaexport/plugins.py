"""Entry-point registries for readers (``qaexport.sources``) and exporters (``qaexport.exporters``).

Built-in plugins register exactly like third-party ones. Entry points are loaded the first
time a registry is asked for them (one name, or all), and a plugin that fails to import, breaks its contract or is
registered twice is left out with one line saying so — every other plugin and command keeps
working. Those lines are collected here and printed once by the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: The entry-point groups of exporters and of readers (sources).
EXPORTERS_GROUP = "qaexport.exporters"
SOURCES_GROUP = "qaexport.sources"

#: Check a loaded plugin against its contract; return what is wrong ("" when it is fine).
Checker = Callable[[str, object], str]

_unreported: list[str] = []


def option(default: Any, help: str, choices: tuple[str, ...] | None = None,
           flag: str | None = None) -> Any:
    """A field of a plugin's ``Options`` dataclass: the CLI makes it ``--flag`` with this help (choices
    case-insensitive) and ``qaexport.toml`` accepts it in the plugin's table."""
    return field(default=default, metadata={"help": help, "choices": choices, "flag": flag})


def pending_warnings() -> bool:
    """Whether some plugin fault has not been shown yet."""
    return bool(_unreported)


def take_warnings() -> list[str]:
    """Plugin faults not yet shown to the user (each is reported once per process)."""
    faults = list(_unreported)
    _unreported.clear()
    return faults


@cache
def _installed_entry_points() -> Any:
    """Every installed distribution's entry points, read once per process: each ``entry_points(group=...)`` reads
    every distribution's again (~3 ms), and a command needs two groups (its exporter, the readers' options)."""
    return entry_points()


@cache
def registered(group: str) -> dict[str, list[EntryPoint]]:
    """The entry points of ``group`` by name, sorted by name, without loading any (read once per process)."""
    by_name: dict[str, list[EntryPoint]] = {}
    for ep in _installed_entry_points().select(group=group):
        by_name.setdefault(ep.name, []).append(ep)
    return dict(sorted(by_name.items()))


def _dist(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "?"


class Registry(Generic[T]):
    """Plugins of one entry-point group by name, loaded lazily, checked once.

    A command that needs one plugin loads only the entry points of that name (``find``): ``qaexport epub``
    or ``validate`` never imports the other exporters' modules, which is most of their start-up."""

    def __init__(self, group: str, kind: str, check: Checker) -> None:
        self.group = group
        self.kind = kind
        self.check = check
        self._entry_points: dict[str, list[EntryPoint]] | None = None
        self._resolved: dict[str, T | None] = {}
        self._loaded: dict[str, T] | None = None
        self.faults: list[str] = []

    def _fault(self, message: str) -> None:
        self.faults.append(message)
        _unreported.append(message)

    def names(self) -> list[str]:
        """Every registered name, sorted, without loading anything (a broken plugin's name included)."""
        if self._entry_points is None:
            self._entry_points = registered(self.group)
        return list(self._entry_points)

    def find(self, name: str) -> T | None:
        """The plugin registered as ``name``, loading only the entry points of that name; None when there is
        none or none is usable (each fault is reported once)."""
        if name not in self._resolved:
            self.names()
            assert self._entry_points is not None
            self._resolved[name] = self._resolve(name, self._entry_points.get(name, []))
        return self._resolved[name]

    def _resolve(self, name: str, candidates: list[EntryPoint]) -> T | None:
        if len(candidates) > 1:
            # The built-in distribution first, so a third-party duplicate never shadows a built-in. Only
            # here are distribution names read: each costs a parse of its METADATA file (start-up time).
            candidates = sorted(candidates, key=lambda e: (_dist(e) != "qaexport", _dist(e)))
        found: T | None = None
        kept: EntryPoint | None = None
        for ep in candidates:
            if kept is not None:
                self._fault(f"{self._where(ep)} is ignored: {self.kind} {name!r} is already registered by "
                            f"{_dist(kept)}; uninstall one of them")
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not break the CLI
                self._fault(f"{self._where(ep)} failed to load ({type(exc).__name__}: {exc}); "
                            "reinstall or remove it")
                continue
            wrong = self.check(name, plugin)
            if wrong:
                self._fault(f"{self._where(ep)} is unusable: {wrong}; fix or remove it")
                continue
            found, kept = plugin, ep
        return found

    def load(self) -> dict[str, T]:
        """Every usable plugin by name, sorted."""
        if self._loaded is None:
            found = {name: self.find(name) for name in self.names()}
            self._loaded = {name: plugin for name, plugin in found.items() if plugin is not None}
        return self._loaded

    def _where(self, ep: EntryPoint) -> str:
        return f"{self.kind} plugin {ep.name!r} ({ep.value}, from {_dist(ep)})"

    def get(self, name: str) -> T:
        plugin = self.find(name)
        if plugin is None:
            from .errors import UsageError

            known = ", ".join(self.load()) or "none"
            raise UsageError(f"unknown {self.kind} {name!r}; known: {known}")
        return plugin

    def require_any(self) -> dict[str, T]:
        plugins = self.load()
        if not plugins:
            from .errors import InstallError

            raise InstallError(f"no {self.kind} is installed (entry-point group {self.group}); "
                               "reinstall qaexport")
        return plugins
