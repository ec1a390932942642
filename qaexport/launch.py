"""The ``qaexport`` command's first steps, before the command-line library loads: the stop signals, the run's own
temporary folder, and, for the ``pdf`` command, its layout process. (The command line, :mod:`qaexport.cli`, reads
and sets the environment; nothing here does.)

Why here and not in :mod:`qaexport.cli`: importing the command line (Typer, Click, the commands' table) is ~0.08 s of
CPU, and in the author's loop (a small bank to a PDF) the longest path of the run is the layout process importing
WeasyPrint (``weasy.warm``); started here, that import runs on the other core beside this process loading the
command line, parsing the command and reading the bank. This module imports nothing heavy; the command decides
whether the process is used (see :func:`start_ahead`).
"""

from __future__ import annotations

import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from . import scratch

#: Arguments after which a command only prints its help.
_HELP = frozenset({"--help", "-h"})

_STOP_SIGNALS = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP end a run like Ctrl-C: temp files removed, outputs untouched, exit 130. Later
    signals are ignored so that clean-up finishes."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


#: The run begun in this process and not yet ended (:func:`begin`).
_begun: list[tempfile.TemporaryDirectory[str]] = []


def begin(args: list[str]) -> tempfile.TemporaryDirectory[str]:
    """The stop signals handled, what killed runs left swept, this run's temporary folder made (returned: the
    command removes it; the command line names it to the programs the libraries start, ``TMPDIR``) and the work
    ``args`` will need started ahead; once per run: a run begun already (``python -m qaexport``, then the command
    line's ``main``) is returned as it is."""
    if _begun and Path(_begun[0].name).is_dir():
        return _begun[0]
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _interrupt)
    scratch.sweep_once(Path(tempfile.gettempdir()))  # what killed runs left there (a listing: a millisecond)
    _begun[:] = [scratch.run_folder()]  # this process's temporary files go there from now on (tempfile.tempdir)
    start_ahead(args)
    return _begun[0]


def start_ahead(args: list[str]) -> None:
    """The PDF's layout process (``weasy.warm``) started as the ``pdf`` command begins, before its options are parsed
    and its sources read, so that its import of WeasyPrint runs beside this process's start-up and reading. The
    command decides whether it is used: sources too big for a book laid out whole stop it before they are read
    (``PdfExporter.start_before_reading``), a bigger book once read (``prepare_alone``); a build with nothing
    changed, a command's help or a failed command end it when the command ends (``warm.stop``, at exit at the
    latest)."""
    if args[:1] == ["pdf"] and not _HELP & set(args):
        from .weasy import warm

        warm.start()


def main() -> None:
    """The ``qaexport`` command (``python -m qaexport`` and the installed script): :func:`begin`, then the command
    line (:func:`qaexport.cli.app.main`)."""
    begin(sys.argv[1:])
    from .cli import main as command

    command()
