"""The ``qaexport`` command line. Only this package knows about Typer and exit codes."""

from .app import app, main

__all__ = ["app", "main"]
