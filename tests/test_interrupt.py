"""Interruptions and full disks: like Ctrl-C, a killed or starved run leaves the previous output and no temp file."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qaexport.cli import app
from tests.cli_run import qaexport

pytestmark = pytest.mark.slow  # lays out books or drives real tools: `-m 'not slow'` skips it

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def _synthesise(n: int, folder: Path, per_framework: int = 10) -> Path:
    spec = importlib.util.spec_from_file_location("synth", ROOT / "benchmarks" / "synth.py")
    assert spec and spec.loader
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    synth.synthesise(n, folder, per_framework)
    return folder


@pytest.fixture(scope="module")
def bank_300(tmp_path_factory) -> Path:
    return _synthesise(300, tmp_path_factory.mktemp("bank300"), per_framework=5)  # two frameworks


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _cpu_seconds(pid: int) -> float:
    """CPU time a process has used (user + system), from /proc; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def _qaexport(*args: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """``qaexport ARGS`` running; killed on the way out if a test failed before it ended."""
    proc = subprocess.Popen([sys.executable, "-m", "qaexport", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _signal(proc: subprocess.Popen, sig: int, timeout: float) -> tuple[str, float]:
    """Send ``sig``, wait for the end: (stderr, seconds from the signal to the end)."""
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=timeout)
    return err, time.monotonic() - sent


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to watch the layout process")
@pytest.mark.parametrize(("sig", "parts"), [(signal.SIGTERM, "2"), (signal.SIGHUP, "1")],
                         ids=["SIGTERM-in-parts", "SIGHUP-whole"])
def test_signal_mid_pdf_layout_is_like_ctrl_c(sig, parts, bank_300, tmp_path):
    target = tmp_path / "book.pdf"
    target.write_bytes(b"%PDF-1.7 the previous booklet")
    before = target.read_bytes()
    scratch = tmp_path.parent / f"{tmp_path.name}-tmp"  # where the parts are laid out
    scratch.mkdir()
    with _qaexport("pdf", str(bank_300), "-o", str(target), "--parts", parts,
                   env={**os.environ, "TMPDIR": str(scratch)}) as proc:
        temps = lambda: list(tmp_path.glob(".*.book.pdf.tmp"))  # noqa: E731  (scratch.beside: .qaexport-PID-….book.pdf.tmp)
        _wait_for(lambda: temps() or proc.poll() is not None, 180, "the temp file")
        assert proc.poll() is None, proc.communicate()
        _wait_for(lambda: len(_children(proc.pid)) >= int(parts), 30, "the layout processes")
        # WeasyPrint is laying out once the children have worked a while (a short probe beside the parts is over)
        _wait_for(lambda: min(map(_cpu_seconds, _children(proc.pid)), default=0) >= 0.5, 120, "the layout's work")
        layout = [c for c in _children(proc.pid) if _alive(c)]
        assert proc.poll() is None and len(layout) >= int(parts)
        err, stopped_after = _signal(proc, sig, 60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert stopped_after < 10, f"took {stopped_after:.1f} s: the layout was not stopped"
    assert not any(_alive(c) for c in layout), "the layout process outlived the command"  # none can write now
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.pdf"]
    assert list(scratch.iterdir()) == []  # the parts' folder is gone too
    assert target.read_bytes() == before


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = _children(todo.pop())
        found += kids
        todo += kids
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to watch the child processes")
def test_sigterm_while_all_writes_every_format_at_once(bank_300, tmp_path):
    """`all` writes the formats in child processes (the PDF's parts in grandchildren): one SIGTERM to the command
    stops every one of them, and every previous file is left as it was, with no temp file beside it."""
    out = tmp_path / "books"
    out.mkdir()
    before = {}
    for suffix in ("apkg", "epub", "pdf"):
        (out / f"interview-questions.{suffix}").write_bytes(b"the previous " + suffix.encode())
        before[f"interview-questions.{suffix}"] = (out / f"interview-questions.{suffix}").read_bytes()
    with _qaexport("all", str(bank_300), "-o", f"{out}/", "--no-cache") as proc:
        _wait_for(lambda: list(out.glob(".*.interview-questions.pdf.tmp")) or proc.poll() is not None, 180,
                  "the PDF's temp file")
        assert proc.poll() is None, proc.communicate()
        _wait_for(lambda: len(_descendants(proc.pid)) >= 3, 30, "the PDF's layout processes")
        _wait_for(lambda: sum(map(_cpu_seconds, _descendants(proc.pid))) >= 1.0, 120, "the formats' work")
        family = [p for p in _descendants(proc.pid) if _alive(p)]
        err, _ = _signal(proc, signal.SIGTERM, 60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert not any(_alive(p) for p in family), "a child process outlived the command"  # none can write now
    site = out / "interview-questions-site"  # the study site: written whole before the signal, or not at all
    assert not site.exists() or (site / "index.html").is_file()
    after = {p.name: p.read_bytes() for p in out.iterdir() if p != site}
    assert sorted(after) == sorted(before)  # no temp file or folder
    assert after["interview-questions.pdf"] == before["interview-questions.pdf"]  # stopped mid-layout
    finished = {"interview-questions.apkg": b"PK", "interview-questions.epub": b"PK"}
    for name, magic in finished.items():  # written whole before the signal, or left as it was
        assert after[name] == before[name] or after[name].startswith(magic), name


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to watch the child processes")
def test_sigterm_while_rendering_stops_the_rendering_children(tmp_path_factory, tmp_path):
    """A big bank renders in children beside the command: one SIGTERM while they work stops them all at once."""
    bank = _synthesise(6000, tmp_path_factory.mktemp("bank6000"))  # about 3 s of rendering on 2 cores
    target = tmp_path / "deck.apkg"
    with _qaexport("anki", str(bank), "-o", str(target), "--no-cache") as proc:
        _wait_for(lambda: any(_alive(c) for c in _children(proc.pid)) or proc.poll() is not None, 60,
                  "the rendering children")
        family = [c for c in _children(proc.pid) if _alive(c)]
        assert proc.poll() is None and family, proc.communicate()
        err, stopped_after = _signal(proc, signal.SIGTERM, 30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert not any(_alive(c) for c in family), "a rendering child outlived the command"
    # Stopped, not waited for: the children had seconds of rendering left.
    assert stopped_after < 1.0, f"took {stopped_after:.1f} s: the rendering children were not stopped"
    assert list(tmp_path.iterdir()) == []


@pytest.fixture()
def small_disk(tmp_path) -> Path:
    """A 200 KiB tmpfs: too small for a 300-question collection."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_disk_full_while_writing_the_anki_collection(small_disk, bank_300, sample_path, tmp_path):
    target = small_disk / "deck.apkg"
    qaexport("anki", str(sample_path), "-o", str(tmp_path / "made-elsewhere.apkg"))
    before = (tmp_path / "made-elsewhere.apkg").read_bytes()
    target.write_bytes(before)  # the previous deck (22 KiB) fits; a 300-question collection does not
    result = runner.invoke(app, ["anki", str(bank_300), "-o", str(target)])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "database or disk is full" in lines[0] and "previous file is unchanged" in lines[0]
    assert target.read_bytes() == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["deck.apkg"]


def test_ctrl_c_while_the_command_line_loads_is_one_line_and_status_130(tmp_path, sample_path):
    """A Ctrl-C in a run's first ~0.5 s lands while the command line is still being imported (Typer, the plugins),
    before the command's own handler is in place: the same one line and status as later, no traceback, nothing
    written, and the layout process started ahead for ``pdf`` ended with the run. Raised here deterministically: an
    import hook interrupts the import of ``qaexport.cli``, as a Ctrl-C then would."""
    code = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'qaexport.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "sys.argv = ['qaexport', *sys.argv[1:]]\n"
        "from qaexport.launch import main\n"
        "main()\n")
    target, scratch = tmp_path / "out" / "book.pdf", tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run([sys.executable, "-c", code, "pdf", str(sample_path), "-o", str(target), "--no-cache"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "TMPDIR": str(scratch)})
    assert done.returncode == 130, done.stderr
    assert done.stderr.splitlines() == ["interrupted; every output file not finished was left as it was"], done.stderr
    assert not (tmp_path / "out").exists()
    assert list(scratch.iterdir()) == []  # the run's temporary folder is gone



def test_a_child_stopped_while_it_starts_ends_quietly():
    """A child stopped in its first milliseconds, inside multiprocessing's start-up before its work begins (the
    ``pdf`` run's layout process started ahead and ended at once by a command that failed or found nothing changed;
    a Ctrl-C at that moment): the CLI's handler it inherits raised KeyboardInterrupt there, and multiprocessing
    printed "Process ForkProcess-1:" and a traceback on the user's terminal. The stop signals are now held from
    before the fork until the child's work is under way (``stops.held``), where a stop is an interrupt the
    child reports. Deterministic: multiprocessing's start-up step in the child sends the child SIGTERM."""
    code = (
        "import os, signal\n"
        "import multiprocessing.util as util\n"
        "from qaexport import forked, launch\n"
        "launch.stops.in_command()\n"
        "close = util._close_stdin\n"
        "def stopped_while_starting():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    close()\n"
        "util._close_stdin = stopped_while_starting\n"
        "group = forked.Children(lambda _index, _value: None, str)\n"
        "group.start(lambda report: 'worked')\n"
        "proc = group._procs[0]\n"
        "proc.join(30)\n"
        "print(proc.exitcode)\n"
        "group.__exit__(None, None, None)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    assert done.stdout.split() == ["0"], done.stdout  # it ended as an interrupted child ends, not by a traceback
