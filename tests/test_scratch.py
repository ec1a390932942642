"""Temporary things carry their owner's process number, and a later run removes the ones whose owner is gone
(qaexport/scratch.py); after a SIGKILL at any point of any command, the next normal run leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qaexport import scratch
from tests.bounds_corpus import md_bank

ROOT = Path(__file__).resolve().parent.parent


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_what_a_gone_process_left_and_nothing_else(tmp_path):
    dead = _dead_pid()
    left = [tmp_path / f"qaexport-{dead}-abc", tmp_path / f".qaexport-{dead}-xyz.deck.apkg.tmp"]
    left[0].mkdir()
    (left[0] / "collection.anki2").write_text("x")
    left[1].write_text("half a deck")
    kept = [tmp_path / f"qaexport-{os.getpid()}-mine", tmp_path / "qaexport-notanumber-x", tmp_path / "deck.apkg",
            tmp_path / f".deck.apkg.{dead}.tmp", tmp_path / f"other-{dead}-x"]
    for path in kept:
        path.write_text("keep")
    assert sorted(scratch.sweep(tmp_path)) == sorted(left)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in kept)


def test_a_process_number_used_again_does_not_keep_the_leftovers(tmp_path):
    """The owner's number now belongs to a process that started after the thing was made: the owner is gone."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("process start times are read from /proc (Linux)")
    younger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        left = tmp_path / f"qaexport-{younger.pid}-old"
        left.write_text("x")
        os.utime(left, (time.time() - 3600, time.time() - 3600))  # made an hour before that process started
        kept = tmp_path / f"qaexport-{os.getpid()}-mine"
        kept.write_text("x")
        os.utime(kept, (time.time() - 3600, time.time() - 3600))  # this process's own: kept, whatever its age
        assert scratch.sweep(tmp_path) == [left]
    finally:
        younger.kill()
        younger.wait()


def test_what_a_killed_process_not_yet_reaped_left_is_swept(tmp_path):
    """A killed run's forked children are orphans: until PID 1 reaps them (in a container that can take seconds)
    they are zombies, which ``kill(pid, 0)`` still finds. Their leftovers are swept all the same."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("process states are read from /proc (Linux)")
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 60
        while Path(f"/proc/{ended.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child did not end within 60 s"
            time.sleep(0.05)
        left = tmp_path / f".qaexport-{ended.pid}-abc.book.pdf.tmp"
        left.write_text("half a book")  # made after the process started: only its state says it is gone
        assert scratch.sweep(tmp_path) == [left]
    finally:
        ended.wait(timeout=60)


def test_temporary_names_carry_the_owner():
    with scratch.folder("pdf") as folder:
        assert Path(folder).name.startswith(f"qaexport-{os.getpid()}-pdf-")
    prefix, suffix = scratch.beside(Path("/tmp/x/deck.apkg"))
    assert prefix == f".qaexport-{os.getpid()}-" and suffix == ".deck.apkg.tmp"


def test_what_programs_a_run_starts_leave_in_the_temporary_folder_is_the_runs_and_swept(tmp_path):
    """A library's helper program (gcc, run by ctypes.util.find_library while WeasyPrint loads Pango) writes its
    own temporary files through TMPDIR: in a run's folder, a SIGKILL leaves them under the run's name."""
    code = ("import os, signal, subprocess; from qaexport.cli.app import own_temporary_folder; "
            "run = own_temporary_folder(); "
            "subprocess.run(['mktemp'], check=True, stdout=subprocess.DEVNULL); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "TMPDIR": str(tmp_path)}, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    left = list(tmp_path.iterdir())
    assert len(left) == 1 and left[0].name.startswith("qaexport-") and "-run-" in left[0].name, left
    assert [p.name[:4] for p in left[0].iterdir()] == ["tmp."]  # mktemp's file, inside the run's folder
    assert scratch.sweep(tmp_path) == left
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------- SIGKILL


def _bank(folder: Path, questions: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for sub in range(4):
        items = [(f"Question {sub}-{i} with `code`?", f"Answer {i}, **bold**.\n\n```python\nprint({i})\n```")
                 for i in range(questions // 4)]
        (folder / f"sub{sub}.md").write_text(md_bank(items, front=f"framework: Kill\ntopic: Points\nsubtopic: S{sub}"))
    return folder


def _env(work: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(work / "tmp"), "QAEXPORT_CACHE_DIR": str(work / "cache"),
            "QAEXPORT_STATE_DIR": str(work / "state")}


COMMANDS = {  # command → its arguments after the bank, and how many questions keep it busy a few seconds
    "anki": (["-o", "{out}/", "--no-cache"], 400),
    "epub": (["-o", "{out}/", "--no-cache"], 400),
    "pdf": (["-o", "{out}/", "--no-cache"], 120),
    "cards": (["-o", "{out}/", "--no-cache"], 12),
    "all": (["-o", "{out}/", "--no-cache"], 120),
    "convert": (["--to", "markdown", "-o", "{out}/bank", "--force"], 400),
}


def _run(command: str, bank: Path, work: Path) -> subprocess.Popen:
    args, _ = COMMANDS[command]
    argv = [a.replace("{out}", str(work / "out")) for a in args]
    return subprocess.Popen([sys.executable, "-m", "qaexport", command, str(bank), *argv], cwd=work,
                            env=_env(work), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _wait_until_the_group_is_dead(group: int) -> None:
    """Every process of the killed ``group`` dead (gone, or a zombie its new parent has not reaped yet: what it left
    is swept, ``scratch._zombie``). A SIGKILL takes effect when the process next runs, which a loaded machine can
    put off; a child still alive keeps its leftovers from the next run's sweep. (A fixed 0.2 s wait assumed it.)"""
    def alive_in_group() -> list[int]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[2]) == group and fields[0] != "Z":
                found.append(int(stat.parent.name))
        return found

    deadline = time.monotonic() + 60
    while left := alive_in_group():
        assert time.monotonic() < deadline, f"processes of the killed run still alive after 60 s: {left}"
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize("command", list(COMMANDS))
def test_killed_at_several_points_then_a_normal_run_leaves_nothing_behind(command, tmp_path):
    bank = _bank(tmp_path / "bank", COMMANDS[command][1])
    work = tmp_path / "work"
    (work / "tmp").mkdir(parents=True)
    start = time.monotonic()
    proc = _run(command, bank, work)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()
    took = time.monotonic() - start
    expected = _listing(work / "out")
    assert _listing(work / "tmp") == []
    left_behind = []
    for point in (0.2, 0.45, 0.7, 0.9):
        proc = _run(command, bank, work)
        time.sleep(took * point)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _wait_until_the_group_is_dead(proc.pid)
        left_behind += [name for name in _listing(work / "out") + _listing(work / "tmp") if "qaexport-" in name]
    assert left_behind, "no kill left anything: the kills came too late to test the sweep"
    proc = _run(command, bank, work)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()
    assert _listing(work / "out") == expected
    assert _listing(work / "tmp") == []
