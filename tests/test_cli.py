import re
import shutil

import pytest
from typer.testing import CliRunner

from qaexport.cli import app
from tests.payloads import page, question, subtopic, write

runner = CliRunner()


def test_list_with_no_arguments_shows_the_sample(tmp_path, sample_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(sample_path.parent, tmp_path / "data")
    result = runner.invoke(app, ["list"], env={"COLUMNS": "140"})
    assert result.exit_code == 0, result.output
    rows = re.findall(r"│ (.+?) +│ +(\d+) │ +(\d+) │ +(\d+) │ +(\d+) │", result.output)
    slugs = re.findall(r"│   (fastapi/\S+) +│", result.output)
    assert slugs == ["fastapi/deployment/uvicorn-gunicorn", "fastapi/deployment/middleware",
                     "fastapi/deployment/background-tasks"]
    assert rows == [
        ("FastAPI › Deployment & Middleware › Uvicorn & Gunicorn", "4", "5", "2", "11"),
        ("FastAPI › Deployment & Middleware › Middleware", "4", "6", "2", "12"),
        ("FastAPI › Deployment & Middleware › Background Tasks", "1", "5", "5", "11"),
        ("3 subtopics", "9", "16", "9", "34"),
    ]


def test_validate_reports_every_problem_in_every_file(tmp_path, sample_path):
    bad1 = write(tmp_path / "bad1.json", page([subtopic("s", "S", [
        {"id": "a", "difficulty": "expert", "q": "Q", "a": "A"},
        {"id": "b", "difficulty": "easy", "q": "", "a": "A"},
    ])]))
    bad2 = write(tmp_path / "bad2.json", "[{]")
    result = runner.invoke(app, ["validate", str(sample_path), str(bad1), str(bad2)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("✗")]
    assert len(lines) == 3
    assert "bad1.json: question 'a'" in lines[0] and "bad1.json: question 'b'" in lines[1]
    assert "bad2.json: invalid JSON" in lines[2]


def test_validate_ok(sample_path):
    result = runner.invoke(app, ["validate", str(sample_path)])
    assert result.exit_code == 0
    assert "ok: 34 questions in 3 subtopics from 1 file\n" in result.output


def test_usage_errors_exit_2(sample_path, tmp_path):
    for args, message in [
        (["anki", str(sample_path), "--theme", "nope", "-o", str(tmp_path / "x.apkg")], "unknown theme 'nope'"),
        (["list", str(sample_path), "--difficulty", "insane"], "use easy, medium, hard or unrated"),
        (["list", str(sample_path), "--topic", "django"], "--topic 'django' matches nothing"),
        (["list", str(tmp_path / "missing.json")], "no such file"),
    ]:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "x.apkg").exists()


def test_help_explains_itself():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for word in ("list", "validate", "themes", "anki", "all", "Examples", "Exit codes"):
        assert word in result.output
    result = runner.invoke(app, ["anki", "--help"])
    assert "--deck-name" in result.output and "--night-theme" in result.output and "--difficulty" in result.output


def test_themes_lists_installed_styles():
    result = runner.invoke(app, ["themes"])
    assert "default (default)" in result.output and "monokai" in result.output


def test_difficulty_filter_reaches_the_export(tmp_path, sample_path):
    result = runner.invoke(app, ["anki", str(sample_path), "-d", "hard", "-o", str(tmp_path / "hard.apkg")])
    assert result.exit_code == 0, result.output
    from tests.anki_collection import import_deck, new_collection

    with new_collection(tmp_path / "col") as col:
        import_deck(col, tmp_path / "hard.apkg")
        assert col.note_count() == 9
        assert len(col.find_notes("tag:difficulty::hard")) == 9


def test_duplicate_ids_across_files_in_one_subtopic_are_an_error(tmp_path):
    a = write(tmp_path / "a.json", page([subtopic("s", "S", [question("q")])]))
    b = write(tmp_path / "b.json", page([subtopic("s", "S", [question("q")])]))
    result = runner.invoke(app, ["anki", str(a), str(b), "-o", str(tmp_path / "d.apkg")])
    assert result.exit_code == 1 and "also defined at " in result.output, result.output


@pytest.mark.slow
def test_all_writes_the_three_books_and_the_site_into_the_output_folder(tmp_path, sample_path):
    """The README's first command: every in-all exporter, one file (or folder) each, named after the content."""
    out = tmp_path / "books"
    result = runner.invoke(app, ["all", str(sample_path), "-o", f"{out}/"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "fastapi-deployment-site", "fastapi-deployment.apkg", "fastapi-deployment.epub", "fastapi-deployment.pdf"]
    for suffix in ("apkg", "epub", "pdf"):
        assert f"wrote {out}/fastapi-deployment.{suffix} (" in result.output
    assert f"wrote {out}/fastapi-deployment-site/ (11 files)" in result.output
    assert (out / "fastapi-deployment-site" / "index.html").is_file()
    assert (out / "fastapi-deployment.pdf").read_bytes().startswith(b"%PDF-")
    assert (out / "fastapi-deployment.epub").read_bytes()[30:58] == b"mimetypeapplication/epub+zip"
    assert (out / "fastapi-deployment.apkg").read_bytes().startswith(b"PK")


@pytest.mark.slow
def test_all_writes_each_file_as_its_own_command_does(tmp_path, sample_path):
    """`all` runs the exporters at once, each in a child process: the files are the single commands' files."""
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    result = runner.invoke(app, ["all", str(sample_path), "-o", f"{tmp_path}/all/"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split()[1].removeprefix(f"{tmp_path}/all/fastapi-deployment") for line in lines] == [
        ".apkg", ".epub", ".pdf", "-site/"]  # the exporters' order
    for suffix, command in (("apkg", "anki"), ("epub", "epub"), ("pdf", "pdf")):
        single = tmp_path / f"single.{suffix}"
        one = runner.invoke(app, [command, str(sample_path), "-o", str(single)], env=env)
        assert one.exit_code == 0, one.output
        assert (tmp_path / "all" / f"fastapi-deployment.{suffix}").read_bytes() == single.read_bytes(), suffix
    one = runner.invoke(app, ["site", str(sample_path), "-o", str(tmp_path / "single-site")], env=env)
    assert one.exit_code == 0, one.output
    site = tmp_path / "all" / "fastapi-deployment-site"
    assert {str(p.relative_to(site)): p.read_bytes() for p in site.rglob("*") if p.is_file()} == {
        str(p.relative_to(tmp_path / "single-site")): p.read_bytes() for p in (tmp_path / "single-site").rglob("*")
        if p.is_file()}


@pytest.mark.slow
def test_all_keeps_going_past_one_failed_format_and_says_which(tmp_path, sample_path):
    out = tmp_path / "books"
    (out / "fastapi-deployment.epub").mkdir(parents=True)  # the EPUB cannot be written there
    result = runner.invoke(app, ["all", str(sample_path), "-o", f"{out}/"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"wrote {out}/fastapi-deployment.apkg (")
    assert lines[1].startswith(f"wrote {out}/fastapi-deployment.pdf (")
    assert lines[2].startswith(f"wrote {out}/fastapi-deployment-site/ (")
    assert lines[3].startswith(f"error: {out}/fastapi-deployment.epub: ") and len(lines) == 4, result.output
    assert (out / "fastapi-deployment.epub").is_dir()
    assert sorted(p.name for p in out.iterdir()) == [
        "fastapi-deployment-site", "fastapi-deployment.apkg", "fastapi-deployment.epub",
        "fastapi-deployment.pdf"]  # no temp file left
