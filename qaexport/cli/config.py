"""``qaexport.toml``: defaults for repeated builds, checked against one schema.

The schema is generated: a few top-level keys every command shares, plus one table per
installed exporter holding that exporter's options under their field names (the CLI flag with
underscores), so a plugin's options work in the file too. Every unknown key and wrong type is
reported at once, with its key path. Relative paths are relative to the file's folder.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .options import OptionSpec, fields_of

CONFIG_NAME = "qaexport.toml"

#: Top-level keys: what they hold, and (for title/author) the exporter field they default.
TOP_LEVEL: dict[str, str] = {
    "sources": "a list of paths",
    "output": "a path",
    "title": "text",
    "author": "text",
    "theme": "text",
    "night_theme": "text",
}


class ConfigError(UsageError):
    """Every problem in the config file, one line each."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.lines = [f"{path}: {p}" for p in problems]
        super().__init__("\n".join(self.lines))


@dataclass
class Config:
    path: Path | None = None
    top: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    def value(self, plugin: str, name: str) -> Any:
        """The file's value for one plugin field: its own table first, then a shared top-level key."""
        table = self.tables.get(plugin, {})
        if name in table:
            return table[name]
        if name in ("title", "author") and name in self.top:
            return self.top[name]
        return None


def _spec(cls: type, f: Any, kind: type) -> OptionSpec:
    return OptionSpec(f.name, "", f.name, kind, f.metadata.get("choices"), "", f.default, (cls.name,))


def _check_value(spec: OptionSpec, value: Any, base: Path) -> tuple[Any, str]:
    """The value converted to what the option takes, or a message saying what is wrong."""
    if spec.choices:
        if isinstance(value, str) and value.lower() in spec.choices:
            return value.lower(), ""
        return None, f"{value!r} is not {spec.describe_type()}"
    if spec.kind is bool:
        return (value, "") if isinstance(value, bool) else (None, f"{value!r} is not true or false")
    if spec.kind is Path:
        return (base / value, "") if isinstance(value, str) and value else (None, f"{value!r} is not a path")
    if spec.kind in (int, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return spec.kind(value), ""
    if spec.kind is str and isinstance(value, str):
        return value, ""
    return None, f"{value!r} is not {spec.describe_type()}"


def load_config(explicit: Path | None, schema: Callable[[], dict[str, list[type]]]) -> Config:
    """The config file named by ``--config``, else ``./qaexport.toml`` if there is one, else no defaults.

    ``schema()``: table name → the plugins whose options the table holds (an exporter, a reader, or both
    when a reader and an exporter share a name); called only when there is a file, as it loads every plugin.
    Every problem in the file is collected and reported at once (:class:`ConfigError`)."""
    path = explicit if explicit is not None else Path(CONFIG_NAME)
    if explicit is None and not path.is_file():
        return Config()
    data = _read_toml(path)
    plugins = schema()
    problems: list[str] = []
    config = Config(path)
    for key, value in data.items():
        if key in plugins:
            table = _plugin_table(key, value, plugins[key], path.parent, problems)
            if table is not None:
                config.tables[key] = table
        else:
            _top_level(key, value, config, path.parent, problems, plugins)
    if problems:
        raise ConfigError(path, problems)
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML; a file that cannot be read or parsed is one usage error."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such config file; check --config") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the config file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None


def _plugin_table(key: str, value: Any, owners: list[type], base: Path, problems: list[str]) -> dict[str, Any] | None:
    """``[key]``: the options of the plugins named ``key``, checked and converted like their flags."""
    if not isinstance(value, dict):
        problems.append(f"[{key}]: must be a table of {key} options")
        return None
    specs = {f.name: _spec(cls, f, kind) for cls in owners for f, kind in fields_of(cls)}
    table: dict[str, Any] = {}
    for name, raw in value.items():
        if name not in specs:
            known = ", ".join(specs) or "none"
            problems.append(f"[{key}].{name}: unknown option (known: {known})")
            continue
        converted, wrong = _check_value(specs[name], raw, base)
        if wrong:
            problems.append(f"[{key}].{name}: {wrong}")
        else:
            table[name] = converted
    return table


def _top_level(key: str, value: Any, config: Config, base: Path, problems: list[str],
               plugins: dict[str, list[type]]) -> None:
    """A key outside the plugins' tables: ``sources``, ``output`` or a shared text option (paths relative to the
    file's folder)."""
    if key == "sources":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            problems.append(f"sources: {value!r} is not a list of paths")
        else:
            config.top["sources"] = [base / v for v in value]
    elif key == "output":
        if isinstance(value, str) and value:
            config.top["output"] = base / value  # always a folder
        else:
            problems.append(f"output: {value!r} is not a path")
    elif key in TOP_LEVEL:
        if isinstance(value, str):
            config.top[key] = value
        else:
            problems.append(f"{key}: {value!r} is not text")
    else:
        known = ", ".join([*TOP_LEVEL, *(f"[{e}]" for e in sorted(plugins))])
        problems.append(f"{key}: unknown key (known: {known})")
