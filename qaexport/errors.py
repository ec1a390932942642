"""One error hierarchy: the core raises these, only the CLI turns them into exit codes.

Every message is a single line a user can act on: which file (and line or record), what
is wrong and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .model import Location


class QaexportError(Exception):
    """Base of every error qaexport reports to a user (never a traceback)."""

    exit_code = 1

    @classmethod
    def carried(cls, message: str, exit_code: int) -> QaexportError:
        """The error a child process reported (its message and exit code), raised again in the parent."""
        error = cls(message)
        error.exit_code = exit_code
        return error


#: The most of a bad value a message repeats: enough to find it, never a flood (an expanded YAML alias, a
#: 5,000-digit number).
SHOWN_CHARS = 80


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` for a message, at most ``limit`` characters (cut with an ellipsis). The work is bounded too:
    containers are shown a few items and levels deep, a huge number by its length (Python refuses to print one)."""
    import reprlib

    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a number of about {int(value.bit_length() * 0.30103):,} digits"
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 3, limit, limit
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = 6
    text = short.repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _escaped(text: str) -> str:
    """``text`` with every character that would act on the terminal or hide text (controls, format characters such
    as bidi overrides, line separators) escaped as ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``."""
    import unicodedata

    return "".join(c if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp", "Cs") else
                   (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else
                    f"\\U{ord(c):08x}") for c in text)


def as_written(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` in quotes as the author wrote it (``\\frac`` stays one backslash, unlike ``repr``), for a message
    quoting a source: at most ``limit`` characters (cut with an ellipsis), controls escaped (:func:`_escaped`)."""
    return f"'{_escaped(text[:limit])}{'…' if len(text) > limit else ''}'"


def clause(text: str, limit: int = SHOWN_CHARS) -> str:
    """Another program's message as one clause of ours: one line, controls escaped, at most ``limit`` characters,
    cut after a whole word with an ellipsis (never mid-word: "(<string>, lin")."""
    text = _escaped(" ".join(text.split()))
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:(") + "…"


def describe_os_error(exc: OSError) -> str:
    """An error of the environment (disk, permissions) in one line: the file, then what the system said."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one input file, located as precisely as the input allows."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def problem(file: str | Path, message: str, record: str = "", line: int | None = None) -> Problem:
    return Problem(Location(str(file), line, record), message)


class InputError(QaexportError):
    """An input file cannot be read as a question bank at all."""

    def __init__(self, file: str | Path, message: str, record: str = "", line: int | None = None) -> None:
        self.problem = problem(file, message, record, line)
        super().__init__(str(self.problem))


class ValidationError(QaexportError):
    """The input was readable but its content breaks the rules; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "invalid content"
        rest = len(problems) - 1
        more = f" (and {rest} more problem{'s' if rest > 1 else ''}; run `qaexport validate`)" if rest else ""
        super().__init__(first + more)


class UsageError(QaexportError):
    """The command line asked for something impossible (unknown theme, exporter, filter...)."""

    exit_code = 2


class InstallError(QaexportError):
    """A plugin is broken or misdeclared: a problem of the installation, not of the command line."""

    exit_code = 3


class OutputError(QaexportError):
    """An output file could not be written; the previous file, if any, is untouched. ``cause``: what the failure is
    whatever the file, when several outputs may meet it alike (an output folder that cannot be written, whose system
    reason may differ between making a file and a folder in it); `qaexport all` tells one line per cause."""

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause or message


class OutputPlaceError(OutputError):
    """The output path names the wrong kind of place: a file where a folder must be, or a folder qaexport did not
    write where an output replaces a folder whole. Like every wrong ``-o`` a usage problem (exit 2), said before
    anything is read where the command line shows it (``cli.export.resolve_target``); still an :class:`OutputError`
    for the callers that rephrase an output error's hint (``qaexport init``)."""

    exit_code = 2


class FontError(QaexportError):
    """A font file a layout uses is damaged or not a font (``font_files.check``), or vanished or changed while the run
    used it (a font package removed or upgraded, the font store emptied): the text would be drawn in another font
    without a word, so nothing is written. The message ends with the repair (``font_files.repair_hint``)."""
