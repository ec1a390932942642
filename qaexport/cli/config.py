"""``qaexport.toml``: defaults for repeated builds, checked against one schema.

The schema is generated: a few top-level keys every command shares, plus one table per
installed exporter holding that exporter's options under their field names (the CLI flag with
underscores), so a plugin's options work in the file too. Every unknown key and wrong value is
reported at once, one line each: ``FILE:LINE: [table] key = value: what is wrong``. Relative paths are relative
to the file's folder.
"""

from __future__ import annotations

import errno
import json
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SHOWN_CHARS, UsageError, describe_os_error, shown
from ..limits import mib
from .options import OptionSpec, fields_of

CONFIG_NAME = "qaexport.toml"
#: A config file holds a few dozen lines; a bigger one is a mistake (checked before reading it).
MAX_CONFIG_BYTES = 1024 * 1024

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
    """Every problem in the config file, one line each (each already names the file and line)."""

    def __init__(self, problems: list[str]) -> None:
        self.lines = list(problems)
        super().__init__("\n".join(self.lines))


@dataclass
class Config:
    path: Path | None = None
    top: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The values as the file wrote them (``"table.key"`` or ``"key"``), for messages.
    raw: dict[str, Any] = field(default_factory=dict)
    #: 1-based line of each key (``"table.key"``, ``"key"``, ``"[table]"``), where a plain scan can tell.
    lines: dict[str, int] = field(default_factory=dict)
    #: What is wrong in the file, one line each; the commands add the values only checking them can find wrong
    #: (an unknown theme, a negative ``parts``), so every one is reported at once.
    problems: list[str] = field(default_factory=list)

    def wrong(self, table: str | None, key: str, value: Any, message: str) -> str:
        """One line: ``FILE:LINE: [table] key = value: message`` (the line where the scan found the key)."""
        path = f"{table}.{key}" if table else key
        # a key of the top level that is a table (``[nosuch]``) is found by its header
        line = self.lines.get(path) or self.lines.get(f"[{table}]" if table else f"[{key}]")
        where = f"{self.path}:{line}" if line else f"{self.path}"
        return f"{where}: {f'[{table}] ' if table else ''}{key} = {_toml(value)}: {message}"

    def raise_problems(self, more: Sequence[str] = ()) -> None:
        """Every problem found in the file, and ``more`` (the flags'), as one usage error."""
        lines = [line for message in [*self.problems, *more] for line in message.split("\n")]
        if lines:
            raise ConfigError(sorted(lines, key=self._line_of))

    def _line_of(self, message: str) -> int:
        """Where a problem's line is in the file, for telling them top to bottom (the flags' and those without a
        line after the file's)."""
        head = f"{self.path}:"
        number = message[len(head):].split(":", 1)[0] if self.path and message.startswith(head) else ""
        return int(number) if number.isdigit() else 1 << 30

    def value(self, plugin: str, name: str) -> Any:
        """The file's value for one plugin field: its own table first, then a shared top-level key."""
        table = self.tables.get(plugin, {})
        if name in table:
            return table[name]
        if name in ("title", "author") and name in self.top:
            return self.top[name]
        return None


def _toml(value: Any) -> str:
    """A value as TOML writes it (a string in double quotes, true/false), shortened for a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        cut = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"
        return json.dumps(cut, ensure_ascii=False)
    if isinstance(value, dict):
        return "{…}"
    return shown(value)


_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def _key_lines(text: str) -> dict[str, int]:
    """Where each plain key of the file is (``"table.key"``, ``"key"``, ``"[table]"``: 1-based lines): a line scan,
    as ``tomllib`` keeps no positions. Keys it cannot place (quoted, dotted, in an inline table) are named without
    a line; the file parsed as TOML before this runs, so the scan never decides what the file means."""
    found: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.split("\n"), 1):
        head = _TABLE.match(line)
        if head:
            table = head.group(1)
            found.setdefault(f"[{table}]", number)
            continue
        key = _KEY.match(line)
        if key:
            found.setdefault(f"{table}.{key.group(1)}" if table else key.group(1), number)
    return found


def _spec(cls: type, f: Any, kind: type) -> OptionSpec:
    return OptionSpec(f.name, "", f.name, kind, f.metadata.get("choices"), "", f.default, (cls.name,))


def _check_value(spec: OptionSpec, value: Any, base: Path) -> tuple[Any, str]:
    """The value converted to what the option takes, or a message saying what is wrong."""
    if spec.choices:
        if isinstance(value, str) and value.lower() in spec.choices:
            return value.lower(), ""
        return None, f"must be {spec.describe_type()}"
    if spec.kind is list:  # one text or a list of them, as ``sources``; what each must be is the option's to check
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(item, str) for item in items):
            return items, ""
        return None, f"must be {spec.describe_type()}"
    if spec.kind is bool:
        return (value, "") if isinstance(value, bool) else (None, "must be true or false")
    if spec.kind is Path:
        return (base / value, "") if isinstance(value, str) and value else (None, "must be a path (a string)")
    if spec.kind in (int, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return spec.kind(value), ""
    if spec.kind is str and isinstance(value, str):
        return value, ""
    return None, f"must be {spec.describe_type()}"


def load_config(explicit: Path | None, schema: Callable[[], dict[str, list[type]]], defer: bool = False) -> Config:
    """The config file named by ``--config``, else ``./qaexport.toml`` if there is one, else no defaults.

    ``schema()``: table name → the plugins whose options the table holds (an exporter, a reader, or both
    when a reader and an exporter share a name); called only when there is a file, as it loads every plugin.
    Every problem in the file is collected and reported at once (:class:`ConfigError`); with ``defer`` they are
    left in ``Config.problems`` for the command to add those only its checks find and raise them together."""
    path = explicit if explicit is not None else Path(CONFIG_NAME)
    if explicit is None and not path.is_file():
        return Config()
    data, text = _read_toml(path)
    plugins = schema()
    config = Config(path, lines=_key_lines(text))
    for key, value in data.items():
        if key in plugins:
            table = _plugin_table(key, value, plugins[key], path.parent, config)
            if table is not None:
                config.tables[key] = table
        else:
            _top_level(key, value, config, path.parent, plugins)
    if not defer:
        config.raise_problems()
    return config


def _read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """The file's TOML and text; a file that cannot be read or parsed is one usage error."""
    try:
        size = path.stat().st_size
        if not path.is_file():  # a FIFO or a device would block or never end
            raise UsageError(f"{path}: not a regular file; --config names a qaexport.toml file")
        if size > MAX_CONFIG_BYTES:
            raise UsageError(f"{path}: {mib(size)}, over the {mib(MAX_CONFIG_BYTES)} a config file may "
                             "have; check --config")
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text), text
    except FileNotFoundError:
        raise UsageError(f"{path}: no such config file; check --config") from None
    except OSError as exc:  # said as the system says it, with what to do (trial10 #18: a Python repr, no fix)
        fix = (f"make it readable (chmod u+r {path}) or name another with --config"
               if exc.errno in (errno.EACCES, errno.EPERM) else "check --config")
        raise UsageError(f"{path}: cannot read the config file ({exc.strerror or describe_os_error(exc)}); {fix}") \
            from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start:,} is not UTF-8); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise UsageError(f"{path}: not valid TOML (nested too deeply); a config file holds flat tables") from None


def _plugin_table(key: str, value: Any, owners: list[type], base: Path, config: Config) -> dict[str, Any] | None:
    """``[key]``: the options of the plugins named ``key``, checked and converted like their flags."""
    if not isinstance(value, dict):
        config.problems.append(config.wrong(None, key, value, f"must be a table of {key} options: write [{key}] "
                                                              "on a line of its own and its options below"))
        return None
    specs = {f.name: _spec(cls, f, kind) for cls in owners for f, kind in fields_of(cls)}
    table: dict[str, Any] = {}
    for name, raw in value.items():
        if name not in specs:
            known = ", ".join(specs) or "none"
            config.problems.append(config.wrong(key, name, raw, f"unknown option (known: {known})"))
            continue
        config.raw[f"{key}.{name}"] = raw
        converted, wrong = _check_value(specs[name], raw, base)
        if wrong:
            config.problems.append(config.wrong(key, name, raw, wrong))
        else:
            table[name] = converted
    return table


def _top_level(key: str, value: Any, config: Config, base: Path, plugins: dict[str, list[type]]) -> None:
    """A key outside the plugins' tables: ``sources``, ``output`` or a shared text option (paths relative to the
    file's folder)."""
    problems = config.problems
    config.raw[key] = value
    if key == "sources":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            problems.append(config.wrong(None, key, value, "must be a list of paths"))
        else:
            config.top["sources"] = [base / v for v in value]
    elif key == "output":
        if isinstance(value, str) and value:
            config.top["output"] = base / value  # always a folder
        else:
            problems.append(config.wrong(None, key, value, "must be a path (a string)"))
    elif key in TOP_LEVEL:
        if isinstance(value, str):
            config.top[key] = value
        else:
            problems.append(config.wrong(None, key, value, "must be text (in quotes)"))
    else:
        known = ", ".join([*TOP_LEVEL, *(f"[{e}]" for e in sorted(plugins))])
        problems.append(config.wrong(None, key, value, f"unknown key (known: {known})"))
