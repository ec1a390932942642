"""`all` runs each exporter in its own child, fully isolated: an exporter that raises anything at all, or whose
process dies, is one failure among the formats; the others are written and the run says what failed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.test_registry import _cli, _fake_dist


@pytest.fixture(scope="module")
def failing_site(tmp_path_factory) -> Path:
    return _fake_dist(tmp_path_factory.mktemp("site"), "failing_plugins", """
        [qaexport.exporters]
        boom = failing_mod:Boom
        dies = failing_mod:Dies
        """, {
        "failing_mod": """
            import os
            import signal
            from dataclasses import dataclass

            from qaexport.exporters import ExporterBase

            @dataclass
            class Options:
                pass

            class Boom(ExporterBase):
                name = "boom"; suffix = ".boom"; produces = "file"; scheme = "plain"; in_all = True
                Options = Options
                def export(self, build, options, target):
                    raise RuntimeError("a bug in a plugin")

            class Dies(ExporterBase):
                name = "dies"; suffix = ".dies"; produces = "file"; scheme = "plain"; in_all = True
                Options = Options
                def export(self, build, options, target):
                    os.kill(os.getpid(), signal.SIGKILL)
            """,
    })


def test_a_failing_or_dying_exporter_does_not_stop_the_others(failing_site, sample_path, tmp_path):
    out = tmp_path / "out"
    result = _cli(failing_site, "all", str(sample_path), "-o", f"{out}/", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    written = sorted(p.name for p in out.iterdir())
    assert {".apkg", ".epub", ".pdf"} <= {p.suffix for p in out.iterdir()}, written  # the built-in formats, whole
    assert not [name for name in written if name.endswith((".boom", ".dies", ".tmp")) or name.startswith(".")]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "boom: failed (RuntimeError: a bug in a plugin)" in errors[0], result.stderr
    assert "warning: dies: " in result.stderr and "ended without a result" in result.stderr, result.stderr
    assert sum(1 for line in result.stdout.splitlines() if line.startswith("wrote ")) == len(written)


def _refuses_writes(folder: str) -> bool:
    """Whether nothing can be made in ``folder`` even by root (sysfs, procfs): the tests run as root, where a chmod
    refuses nothing."""
    try:
        os.rmdir(tempfile.mkdtemp(dir=folder))
    except OSError:
        return True
    return False


@pytest.mark.parametrize(("output", "line"), [
    ("/sys/qaexport-none/", "/sys/qaexport-none: cannot make this folder (Operation not permitted)"),
    ("/sys/kernel/", "/sys/kernel: cannot write in this folder ("),
])
def test_an_output_folder_that_cannot_be_written_is_one_line_for_every_format(sample_path, tmp_path, output, line):
    """`all -o /sys/qx/` said the same cause four times, a warning for three formats and the error for the fourth,
    each naming its own file. One line now, naming the folder and the formats; in /sys/kernel a file and a folder
    are refused with different reasons (Permission denied, Operation not permitted): still one cause, one line."""
    if not _refuses_writes(str(Path(output).parent) if "-none" in output else output):
        pytest.skip(f"{output} can be written on this machine")
    result = _cli(tmp_path, "all", str(sample_path), "-o", output, "--no-cache", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    told = result.stderr.splitlines()
    assert len(told) == 1, result.stderr
    assert told[0].startswith(f"error: anki, epub, pdf, site: {line}"), result.stderr
    assert told[0].endswith("); choose another --output"), result.stderr
    assert "wrote " not in result.stdout, result.stdout
