"""Entry-point registries for readers (``qaexport.sources``) and exporters (``qaexport.exporters``).

Built-in plugins register exactly like third-party ones. Entry points are loaded the first
time a registry is asked, and a plugin that fails to import, breaks its contract or is
registered twice is left out with one line saying so — every other plugin and command keeps
working. Those lines are collected here and printed once by the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from .errors import InstallError

T = TypeVar("T")

#: Check a loaded plugin against its contract; return what is wrong ("" when it is fine).
Checker = Callable[[str, object], str]

_unreported: list[str] = []


def option(default: Any, help: str, choices: tuple[str, ...] | None = None,
           flag: str | None = None) -> Any:
    """A field of a plugin's ``Options`` dataclass: the CLI makes it ``--flag`` with this help (choices
    case-insensitive) and ``qaexport.toml`` accepts it in the plugin's table."""
    return field(default=default, metadata={"help": help, "choices": choices, "flag": flag})


def take_warnings() -> list[str]:
    """Plugin faults not yet shown to the user (each is reported once per process)."""
    faults = list(_unreported)
    _unreported.clear()
    return faults


def _dist(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "?"


class Registry(Generic[T]):
    """Plugins of one entry-point group by name, loaded lazily, checked once."""

    def __init__(self, group: str, kind: str, check: Checker) -> None:
        self.group = group
        self.kind = kind
        self.check = check
        self._loaded: dict[str, T] | None = None
        self.faults: list[str] = []

    def _fault(self, message: str) -> None:
        self.faults.append(message)
        _unreported.append(message)

    def load(self) -> dict[str, T]:
        if self._loaded is not None:
            return self._loaded
        found: dict[str, T] = {}
        by_name: dict[str, list[EntryPoint]] = {}
        for ep in entry_points(group=self.group):
            by_name.setdefault(ep.name, []).append(ep)
        for name in sorted(by_name):
            candidates = by_name[name]
            if len(candidates) > 1:
                # The built-in distribution first, so a third-party duplicate never shadows a built-in. Only
                # here are distribution names read: each costs a parse of its METADATA file (start-up time).
                candidates = sorted(candidates, key=lambda e: (_dist(e) != "qaexport", _dist(e)))
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
                found[name] = plugin
                kept = ep
        self._loaded = found
        return self._loaded

    def _where(self, ep: EntryPoint) -> str:
        return f"{self.kind} plugin {ep.name!r} ({ep.value}, from {_dist(ep)})"

    def get(self, name: str) -> T:
        plugins = self.load()
        if name not in plugins:
            from .errors import UsageError

            known = ", ".join(plugins) or "none"
            raise UsageError(f"unknown {self.kind} {name!r}; known: {known}")
        return plugins[name]

    def require_any(self) -> dict[str, T]:
        plugins = self.load()
        if not plugins:
            raise InstallError(f"no {self.kind} is installed (entry-point group {self.group}); "
                               "reinstall qaexport")
        return plugins
