"""Run the real CLI in-process and insist it succeeded (the output is in the assertion message)."""

from __future__ import annotations

from typer.testing import CliRunner

from qaexport.cli import app

runner = CliRunner()


def qaexport(*args: str, env: dict[str, str] | None = None) -> None:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output


def without_file_rights() -> list[str]:
    """The command prefix that runs a child as a user's run is: root reads and writes any file whatever its mode, so
    as root the child gives up the capabilities that do so (``setpriv``, util-linux: CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH); as anyone else, nothing. A test of a refusal by the system (an unreadable file, a read-only
    folder) runs its command with it."""
    import os
    import shutil

    import pytest

    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.fail("run as root, this test needs setpriv (util-linux) to give up root's rights over files")
    drop = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}"]
