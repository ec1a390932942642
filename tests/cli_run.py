"""Run the real CLI in-process and insist it succeeded (the output is in the assertion message)."""

from __future__ import annotations

from typer.testing import CliRunner

from qaexport.cli import app

runner = CliRunner()


def qaexport(*args: str, env: dict[str, str] | None = None) -> None:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
