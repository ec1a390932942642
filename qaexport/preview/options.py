"""``qaexport serve``'s own options as the config file's ``[serve]`` table (its flags are written in
``cli/serve.py``): the same names, checked the same way, so a name allowed in ``qaexport.toml`` is refused or kept
exactly as ``--allow-host`` would refuse or keep it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UsageError
from ..plugins import option
from .hosts import allowed_name


class ListEntryError(UsageError):
    """One entry of a list option is wrong: ``item`` is that entry, for a config line that names it rather than
    the whole list."""

    def __init__(self, message: str, item: str) -> None:
        super().__init__(message)
        self.item = item


@dataclass
class ServeOptions:
    """``[serve]``: the host names serve answers besides its own address (``--allow-host``, repeatable)."""

    allow_host: Sequence[str] | None = option(
        None, "Also answer requests naming these hosts (aliases of 127.0.0.1 in /etc/hosts), with serve's port; "
              "other names are refused (DNS rebinding).", flag="--allow-host")

    def __post_init__(self) -> None:
        names = []
        for name in self.allow_host or ():
            try:
                names.append(allowed_name(name))
            except UsageError as exc:
                raise ListEntryError(str(exc), name) from None
        self.allow_host = tuple(dict.fromkeys(names))


class ServeCommand:
    """The serve's options as the config file's ``[serve]`` table."""

    name = "serve"
    Options = ServeOptions
