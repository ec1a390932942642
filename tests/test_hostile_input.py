"""A hostile corpus: every file is refused with one line naming the file, quickly, writing nothing."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qaexport import sources
from qaexport.cli import app
from qaexport.errors import QaexportError
from tests.cli_run import without_file_rights
from tests.payloads import page, question, subtopic, write

CORPUS = sorted((Path(__file__).parent / "hostile").iterdir())
runner = CliRunner()

#: The first (or only) message each corpus file must give: what is wrong, in the user's terms.
EXPECTED = {
    "bare-number.json": "not a valid Nuxt payload: the payload is a bare number, not a devalue array",
    "bigint-garbage.json": "entry 1 (BigInt) is not an integer: '0x1g'",
    "binary.json": "not UTF-8 text (invalid byte at offset 128); give a saved _payload.json or HTML page",
    "bom-and-garbage.json": "invalid JSON at line 1 column 1: Expecting value (truncated or not a payload?)",
    "cycle.json": "entry 3 refers back to itself (reference cycle)",
    "empty.json": "empty file; give a saved _payload.json or HTML page",
    "float-ref.json": "reference 1.5 is not an integer index",
    "html-with-broken-payload.html": "invalid JSON at line 1 column 13: Expecting value",
    "invalid-utf8.json": "not UTF-8 text (invalid byte at offset 16)",
    "json-object.json": "the payload is not a devalue array (expected a non-empty JSON array)",
    "map-odd.json": "entry 1 (Map) has an odd number of items",
    "negative-ref.json": "unknown negative reference -17",
    "no-payload.html": 'HTML page without a <script id="__NUXT_DATA__"> payload; save the page after it has loaded',
    "no-questions.json": "no questions found: expected page data with `subtopics` holding `questions`",
    "nul-bytes.json": "binary data, not a Nuxt payload",
    "out-of-range.json": "reference 99 is out of range (the payload has 5 entries)",
    "self-cycle.json": "entry 0 refers back to itself (reference cycle)",
    "truncated.json": "invalid JSON at line 1 column 71: Expecting ':' delimiter",
    "unknown-type.json": "entry 1 has unknown type 'Frobnicate'",
    "whitespace.json": "empty file; give a saved _payload.json or HTML page",
    "wrong-types.json": "subtopic '', question #4: expected an object with id, difficulty, q and a, got true/false",
}


def _generated(tmp: Path) -> list[Path]:
    return [
        write(tmp / "deep-json.json", "[" * 100_000 + "]" * 100_000),
        write(tmp / "deep-refs.json", json.dumps([[i + 1] for i in range(100_000)] + ["end"])),
        write(tmp / "deep-objects.json", json.dumps([{"data": i + 1} for i in range(100_000)] + [0])),
        write(tmp / "huge-answer.json", page([subtopic("s", "S", [question("q", a="x" * 5_000_000)])])),
        write(tmp / "billion-laughs.json", json.dumps([[i + 1] * 10 for i in range(60)] + ["lol"])),
    ]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[Path]:
    return _generated(tmp_path_factory.mktemp("hostile"))


def _check_refused(path: Path) -> str:
    _library, problems, _warnings = sources.read_all(sources.expand([path]))
    assert problems, f"{path.name} was accepted"
    for p in problems:
        line = str(p)
        assert "\n" not in line
        assert line.startswith(str(path))
    return str(problems[0])


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_file_is_refused_in_one_line(path):
    message = _check_refused(path)
    assert message.startswith(f"{path}: ") and EXPECTED[path.name] in message, message


def test_every_corpus_file_has_an_expected_message():
    assert sorted(EXPECTED) == [p.name for p in CORPUS]


def test_wrong_types_lists_every_located_problem():
    _library, problems, _warnings = sources.read_all(sources.expand([Path(__file__).parent / "hostile" /
                                                                     "wrong-types.json"]))
    text = "\n".join(str(p) for p in problems)
    assert len(problems) == 11, text
    for expected in ("question #5: expected an object with id, difficulty, q and a, got a list",
                     "subtopic #2: expected an object, got text", "`questions` is not a list",
                     "framework: no usable slug or name", "question 'ok-id' (?/?/?): difficulty is unknown ('7')",
                     "question 'x y z' (?/?/?): id must be letters", "'dup' (?/?/?): answer (a) must be text"):
        assert expected in text


def test_generated_hostile_files_are_refused(generated):
    messages = {p.name: _check_refused(p) for p in generated}
    assert "nested too deeply" in messages["deep-json.json"]
    assert "nesting deeper" in messages["deep-refs.json"]
    assert "nesting deeper" in messages["deep-objects.json"]
    assert "over the 200,000 limit" in messages["huge-answer.json"]
    assert "expands to more than" in messages["billion-laughs.json"]


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "fifty-mb.json"
    with big.open("w") as fh:  # a real 50 MB payload
        fh.write('[{"data":1},"')
        fh.write("x" * 50_000_000)
        fh.write('"]')
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, *a, **k: opened.append(str(path)) or real_open(path, *a, **k))
    reads = []
    real_fdopen = os.fdopen

    class Watched(io.BufferedReader):
        def read(self, *args):
            reads.append(args)
            return super().read(*args)

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: Watched(real_fdopen(fd, *a, **k).detach()))
    with pytest.raises(QaexportError, match="over the 32 MiB limit"):
        sources.load([big])
    assert opened == [str(big)] and reads == []  # opened once, its size read from the open file, nothing else


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_cli_exit_1_one_line_no_traceback_nothing_written(path, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["list", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["anki", str(path), "-o", str(out / "deck.apkg")])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert str(path) in lines[0].replace("\n", "")
    assert not out.exists() or not any(out.iterdir())


def test_an_unreadable_file_is_refused_like_any_bad_file(tmp_path, monkeypatch):
    """Named: one line and the same exit code as a file that is not a bank; in a folder too (trial10 #11: a warning
    let the export go on without its questions). (Tests may run as root, who reads anything: the refusal of the open
    is the system's, given here; test_an_unreadable_file_in_a_folder_stops_the_run has the system refuse it.)"""
    bad = write(tmp_path / "bad.json", ["not a payload"])
    (tmp_path / "folder").mkdir()
    secret = write(tmp_path / "folder" / "secret.json", page([subtopic("s", "S", [question("q1")])]))
    write(tmp_path / "folder" / "fine.json", page([subtopic("t", "T", [question("q2")], fw="fw2")], "fw2", "Fw2"))
    real_open = os.open

    def refusing(path, *args, **kwargs):
        if str(path) == str(secret):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing)
    bad_file = runner.invoke(app, ["list", str(bad)])
    unreadable = runner.invoke(app, ["list", str(secret)])
    assert unreadable.exit_code == bad_file.exit_code == 1, unreadable.output
    assert unreadable.output.strip().splitlines() == [f"error: {secret}: cannot read: Permission denied"]
    in_folder = runner.invoke(app, ["list", str(tmp_path / "folder")])
    assert in_folder.exit_code == 1, in_folder.output
    assert in_folder.output.strip().splitlines() == [
        f"error: {secret}: cannot read: Permission denied; give read permission (chmod u+r), or move it out of "
        f"{tmp_path / 'folder'}"]


def test_an_unreadable_file_in_a_folder_stops_the_run(tmp_path):
    """trial10 #11, the system refusing: a bank file without read permission in a source folder is an error (exit 1,
    one line naming it and the fix), not a deck or a `validate` "ok" without its questions. As root, the process
    gives up the capabilities that read anything (setpriv), as a user's run has none."""
    import subprocess
    import sys

    (tmp_path / "folder").mkdir()
    secret = write(tmp_path / "folder" / "secret.json", page([subtopic("s", "S", [question("q1")])]))
    write(tmp_path / "folder" / "fine.json", page([subtopic("t", "T", [question("q2")], fw="fw2")], "fw2", "Fw2"))
    secret.chmod(0)
    prefix = without_file_rights()
    for command in ("validate", "list"):
        proc = subprocess.run([*prefix, sys.executable, "-m", "qaexport", command, "folder"], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
        assert proc.stderr.splitlines() == [f"error: {Path('folder', 'secret.json')}: cannot read: Permission denied; "
                                            "give read permission (chmod u+r), or move it out of folder"], command
