"""The command line's own usage errors (an unknown option or command, an option's value missing or refused, an
unexpected argument) as one line on stderr, exit status 2, like every other error of qaexport::

    error: no such option --bogus; see 'qaexport pdf -h'
    error: no such command 'lis' (did you mean list?); see 'qaexport -h'
    error: --theme is an option of the pdf command; put it after the command: qaexport pdf --theme x data; see ...
    error: --port is an option of the serve command; put it after the command: qaexport serve --port 80; see ...

Why here: Click (vendored by Typer from 0.26 on) prints these itself, in three or four lines (the usage, "Try ... for
help.", a blank line, "Error: ..."), from ``UsageError.show`` inside the command's ``main``, where no handler of
qaexport runs. The command line's group and commands are made with the classes of :mod:`qaexport.cli.app`, whose
``parse_args``, ``resolve_command`` and ``invoke`` (Click's methods for a command class, which Typer's ``cls=``
accepts) turn every usage error into a :class:`UsageLine`: a usage error (Click's ``main`` handles it as before: exit
2) that shows itself as one line. The help (``-h``, ``--help``, ``qaexport`` alone) is untouched.

Public API only: Typer exports no name for Click's ``UsageError``; it is the base of ``typer.BadParameter`` (in every
Typer from 0.19, vendored or not). What an error says is read from the attributes Click documents for its exceptions
(``ctx``, ``option_name``, ``possibilities``, ``param``, ``message``) and from the command's parameters.
"""

from __future__ import annotations

import shlex
from typing import Any

import typer

#: Click's ``UsageError`` as the running Typer raises it: the base of the public ``typer.BadParameter``.
CLICK_USAGE_ERROR: type[Exception] = next(k for k in typer.BadParameter.__mro__ if k.__name__ == "UsageError")
#: The longest corrected command line an error repeats in full (longer ones end in "...").
LONGEST_SHOWN = 120


class UsageLine(CLICK_USAGE_ERROR):  # type: ignore[misc, valid-type]
    """A usage error already worded as qaexport's one line (without its ``error:``); exit status 2."""

    exit_code = 2

    def format_message(self) -> str:
        return str(self.message)  # type: ignore[attr-defined]

    def show(self, file: Any = None) -> None:
        typer.echo(f"error: {self.message}", file=file, err=file is None)  # type: ignore[attr-defined]


def one_line(exc: Exception, ctx: Any) -> Exception:
    """``exc`` (a usage error of the command of ``ctx``) as a :class:`UsageLine`: what is wrong, then where the help
    is. An error that is one already, or the help a command prints when given nothing, is returned as it is."""
    if isinstance(exc, UsageLine) or not isinstance(exc, CLICK_USAGE_ERROR):
        return exc
    ctx = getattr(exc, "ctx", None) or ctx
    return UsageLine(f"{_what(exc, ctx)}; see {_help(ctx)}", ctx)


#: The command a corrected line shows when several take the option and none is named (the one most run).
EXAMPLE_COMMAND = "pdf"


def misplaced(group: Any, ctx: Any, args: list[str], exc: Exception) -> Exception | None:
    """An unknown option of the command line itself that is an option of a command: the line says so and gives the
    command line with it after the command. With a command named after it (``qaexport --theme x pdf data``) that
    command, when the option is one of its own; with none (``qaexport --theme x``) the commands that take it, and the
    line with one of them (pdf when it is one). None when no command takes the option, or the named one does not."""
    option = getattr(exc, "option_name", None)
    if not option or not hasattr(exc, "possibilities"):
        return None
    names = group.list_commands(ctx)
    at = next((i for i, arg in enumerate(args) if arg in names), None)
    if at is None:
        takers = [name for name in names if _takes(group.get_command(ctx, name), option)]
        if not takers:
            return None
        name = EXAMPLE_COMMAND if EXAMPLE_COMMAND in takers else takers[0]
        whose = f"the {name} command" if len(takers) == 1 else f"the commands {', '.join(sorted(takers))}, not of " \
                                                                f"{ctx.command_path} itself"
        fixed = shlex.join([ctx.command_path, name, *args]) + ("" if len(takers) == 1 else " ...")
        if len(fixed) > LONGEST_SHOWN:
            fixed = shlex.join([ctx.command_path, name, option]) + " ..."
    else:
        name = args[at]
        if not _takes(group.get_command(ctx, name), option):
            return None
        whose = f"the {name} command"
        fixed = shlex.join([ctx.command_path, name, *args[:at], *args[at + 1:]])
        if len(fixed) > LONGEST_SHOWN:
            fixed = shlex.join([ctx.command_path, name, *args[:at]]) + " ..."
    return UsageLine(_printable(f"{option} is an option of {whose}; put it after the command: {fixed}; "
                                f"see '{ctx.command_path} {name} {_help_option(ctx)}'"), ctx)


def _takes(command: Any, option: str) -> bool:
    """Whether ``command`` (None: no such command) has ``option`` among its parameters."""
    return command is not None and any(option in (*p.opts, *p.secondary_opts) for p in command.params)


def no_such_command(ctx: Any, name: str, known: list[str]) -> Exception:
    """``name`` is not a command: the closest ones, and the help that lists them all."""
    import difflib

    close = difflib.get_close_matches(name, known)
    return UsageLine(_printable(f"no such command {name!r}{_did_you_mean(close)}; see {_help(ctx)}"), ctx)


def _what(exc: Any, ctx: Any) -> str:
    """What is wrong, in qaexport's words (lower case, no final full stop, the option as the user writes it)."""
    option = getattr(exc, "option_name", None)
    param = getattr(exc, "param", None)
    if option and hasattr(exc, "possibilities"):  # NoSuchOption
        return _printable(f"no such option {option}{_did_you_mean(exc.possibilities or [])}")
    if option:  # BadOptionUsage: a value missing, or given to a flag
        found = _param(ctx, option)
        if found is not None and getattr(found, "is_flag", False):
            return _printable(f"option {option} takes no value (it is a flag: give {option} alone)")
        if found is not None:
            count = found.nargs if found.nargs > 1 else "a"
            return _printable(f"option {option} needs {count} value{'s' if found.nargs > 1 else ''}")
    elif param is not None:  # BadParameter, MissingParameter
        name = _name(param)
        if hasattr(exc, "param_type"):  # MissingParameter
            return _printable(f"missing {param.param_type_name} {name}")
        return _printable(f"invalid value for {name}: {_plain(exc.message)}")
    return _printable(_plain(exc.format_message()))


def _param(ctx: Any, option: str) -> Any:
    """The parameter of the command of ``ctx`` that ``option`` names (None if none does)."""
    command = getattr(ctx, "command", None)
    for param in getattr(command, "params", []):
        if option in (*param.opts, *param.secondary_opts):
            return param
    return None


def _name(param: Any) -> str:
    """A parameter as the help shows it: an option by its long name, an argument by its metavar (SOURCES)."""
    if getattr(param, "param_type_name", "") == "option":
        return next((o for o in param.opts if o.startswith("--")), param.opts[0])
    return str(param.human_readable_name)


def _did_you_mean(close: Any) -> str:
    close = sorted(close)
    if not close:
        return ""
    listed = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
    return f" (did you mean {listed}?)"


def _help_option(ctx: Any) -> str:
    return (getattr(ctx, "help_option_names", None) or ["--help"])[0]


def _help(ctx: Any) -> str:
    path = getattr(ctx, "command_path", "") or "qaexport"
    return f"'{path} {_help_option(ctx)}'"


def _plain(message: Any) -> str:
    """Click's sentence as part of a line: no final full stop, lower case first unless a name (SOURCES)."""
    text = " ".join(str(message).split()).rstrip(".")
    if text[:1].isupper() and not text[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text


def _printable(text: str) -> str:
    """The line with what the user typed made visible: a control character (a newline in an option name) is escaped,
    so that the error stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
