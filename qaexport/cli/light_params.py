"""Coerce our simple option types without Pydantic (saves ~0.1 s of start-up per command).

Typer (0.2x) coerces every non-flag parameter through a Pydantic ``TypeAdapter``: the first
command-line value imports Pydantic and builds adapters, ~0.1 s of CPU per run, a third of a
``validate`` run and a sixth of an EPUB build. Our options are only ``str``, ``Path``, lists
of those and ``Literal``/``Enum`` choices, which Typer's own helpers coerce exactly as its adapters
do (same functions, same messages), and ``int`` values written as digits, which Pydantic reads with ``int()``
(anything else, such as ``2.0``, still goes to Typer's path). Any other annotation, or a Typer without these internals,
keeps Typer's own path: this is an optimisation, never a behaviour change.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any

_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}
_DIGITS = re.compile(r"[+-]?[0-9]+")


def _bool(value: Any, param: Any, ctx: Any) -> bool:
    """Flags arrive as bools (Typer skips coercion for those); a textual value is read like Click does."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    from typer._click.exceptions import BadParameter

    raise BadParameter(f"Value error, {value!r} is not a valid boolean.", ctx=ctx, param=param)


def install() -> None:
    try:
        from typer import core
        from typer._coercion import RuntimeParam
        from typer._param_types import coerce_cli_choice, coerce_cli_path
        from typer._typing import get_args, get_origin, is_literal_type, literal_values
    except ImportError:  # another Typer: keep its own coercion
        return
    original = core._TyperParameter.get_runtime_param
    if getattr(original, "qaexport_light", False):
        return

    def leaf(annotation: Any, info: Any, typers: Any) -> Any:
        """A converter for one value, or None when Typer's own path must decide (``typers()``: Typer's own
        runtime parameter, for the values only it may judge)."""
        if annotation is int and info.parser is None and info.min is None and info.max is None:
            def integer(value: Any, param: Any, ctx: Any) -> Any:
                if type(value) is int:  # a default
                    return value
                if isinstance(value, str) and _DIGITS.fullmatch(value):  # what Pydantic makes of it: int()
                    return int(value)
                return typers()._coerce_value(value, param, ctx)  # anything else, Typer's own judgement
            return integer
        if annotation is str and info.parser is None:
            return lambda value, param, ctx: value if isinstance(value, str) else str(value)
        if annotation is Path and info.parser is None and info.path_type is None:
            # A str made a Path here is what Pydantic's Path validation would make of it; Typer then checks it.
            return lambda value, param, ctx: coerce_cli_path(Path(value) if isinstance(value, str) else value, info,
                                                             path_type=Path, param=param, ctx=ctx)
        if annotation is bool and info.parser is None:
            return _bool
        if is_literal_type(annotation) or (isinstance(annotation, type) and issubclass(annotation, Enum)):
            choices = literal_values(annotation) if is_literal_type(annotation) else tuple(annotation)

            def choice(value: Any, param: Any, ctx: Any) -> Any:
                try:
                    return coerce_cli_choice(value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx)
                except ValueError as exc:
                    from typer._click.exceptions import BadParameter

                    raise BadParameter(f"Value error, {exc}", ctx=ctx, param=param) from None

            return choice
        return None

    class _Light(RuntimeParam):
        convert: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            return self.convert(value, param, ctx)

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            desc = self.type_descriptor
            annotation, info = desc.annotation, desc.parameter_info
            convert = None
            if desc.file_annotation is None:
                built: list[Any] = []

                def typers(self: Any = self, built: list[Any] = built) -> Any:
                    if not built:  # Typer's own runtime parameter, made aside from the light one in use
                        light, self._runtime_param = self._runtime_param, None
                        try:
                            built.append(original(self))
                        finally:
                            self._runtime_param = light
                    return built[0]

                if get_origin(annotation) is list:
                    item = leaf(get_args(annotation)[0], info, typers)
                    if item is not None:
                        def convert(value: Any, param: Any, ctx: Any, item: Any = item) -> Any:
                            values = value if isinstance(value, (list, tuple)) else [value]
                            return [item(v, param, ctx) for v in values]
                else:
                    convert = leaf(annotation, info, typers)
            if convert is None:
                return original(self)
            light = _Light(parameter_info=info, annotation=annotation)
            object.__setattr__(light, "convert", convert)
            self._runtime_param = light
        return self._runtime_param

    get_runtime_param.qaexport_light = True  # type: ignore[attr-defined]
    get_runtime_param.original = original  # type: ignore[attr-defined]  # tests compare the two
    core._TyperParameter.get_runtime_param = get_runtime_param
