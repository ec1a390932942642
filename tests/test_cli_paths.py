"""The command line never surprises: output paths, options of `all`, messages, config file."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from qaexport import __version__
from qaexport.cli import app
from tests.cli_run import without_file_rights
from tests.payloads import page, question, subtopic, write

runner = CliRunner()


def pdf_text(pdf: PdfReader) -> str:
    # pypdf reads some WeasyPrint font subsets as UTF-16 with NULs between characters
    return " ".join(" ".join((p.extract_text() or "").replace("\x00", "").split()) for p in pdf.pages)


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.mark.slow
def test_output_folder_with_trailing_slash_or_existing_folder(tmp_path, sample_path):
    books = tmp_path / "books"
    run("epub", str(sample_path), "-o", f"{books}/")
    run("pdf", str(sample_path), "-o", f"{books}/")  # must not overwrite the EPUB with a PDF
    assert sorted(p.name for p in books.iterdir()) == ["fastapi-deployment.epub", "fastapi-deployment.pdf"]
    run("anki", str(sample_path), "-o", str(books))  # an existing folder, no slash
    assert (books / "fastapi-deployment.apkg").is_file()
    assert zipfile.ZipFile(books / "fastapi-deployment.epub").read("mimetype") == b"application/epub+zip"


def test_a_path_with_the_wrong_suffix_is_a_usage_error(tmp_path, sample_path):
    out = run("pdf", str(sample_path), "-o", str(tmp_path / "book.epub"), code=2)
    assert "pdf writes a .pdf file; name it book.pdf or give a folder ending in /" in out
    existing = tmp_path / "deck.pdf"
    existing.write_text("not mine to overwrite")
    out = run("all", str(sample_path), "-o", str(existing), code=2)
    assert "is a file, but this command writes several files" in out
    assert existing.read_text() == "not mine to overwrite" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.slow
def test_all_takes_every_exporters_options(tmp_path, sample_path):
    run("all", str(sample_path), "-o", f"{tmp_path}/", "--answers", "END", "--paper", "Letter",
        "--deck-name", "Prep")
    pdf = PdfReader(tmp_path / "fastapi-deployment.pdf")
    assert round(float(pdf.pages[0].mediabox.width)) == 612  # letter
    text = pdf_text(pdf)
    assert "Answer on page" in text  # quiz mode
    epub = zipfile.ZipFile(tmp_path / "fastapi-deployment.epub")
    assert any("epub:type=\"footnote\"" in epub.read(n).decode() for n in epub.namelist() if n.endswith(".xhtml"))


def test_every_wrong_kind_of_output_place_is_a_usage_error_that_says_why(tmp_path, sample_path):
    """site -o FILE, markdown -o FILE and site -o a folder of the user's exited 1, pdf -o FILE/x.pdf 2: a wrong -o
    is a usage problem (exit 2) whichever command meets it; nothing is written and the file is untouched."""
    ok = tmp_path / "ok.md"
    ok.write_text("mine")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    for args, said in ((["site", "-o", str(ok)], f"-o {ok}: {ok} is a file, not a folder"),
                       (["markdown", "-o", str(ok)], f"-o {ok}: {ok} is a file, not a folder"),
                       (["pdf", "-o", f"{ok}/x.pdf"], f"-o {ok}/x.pdf: {ok} is a file, not a folder"),
                       (["site", "-o", f"{mine}/"], f"{mine}: folder is not empty and was not written by qaexport")):
        result = runner.invoke(app, [args[0], str(sample_path), *args[1:]])
        assert result.exit_code == 2 and said in " ".join(result.output.split()), (args, result.output)
    assert ok.read_text() == "mine" and [p.name for p in mine.iterdir()] == ["thesis.txt"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_a_folder_that_makes_no_files_is_said_to_exist():
    """anki -o /proc/x.apkg said "No such file or directory" of /proc, which is there."""
    result = runner.invoke(app, ["anki", "-o", "/proc/x.apkg", str(Path(__file__).parent.parent / "data")])
    assert result.exit_code == 1, result.output
    assert "/proc: cannot write in this folder (it exists, but the system makes no files in it" in result.output


def test_exporter_commands_offer_only_their_own_options():
    pdf_help = run("pdf", "--help")
    assert "--night-theme" not in pdf_help and "--paper" in pdf_help and "--deck-name" not in pdf_help
    assert "--night-theme" in run("epub", "--help") and "--night-theme" in run("anki", "--help")
    help_text = run("--help")
    assert "130" in help_text
    assert "SOURCES" in run("list", "--help")


def test_version():
    assert run("--version").strip() == f"qaexport {__version__}"


def test_message_nits(tmp_path, sample_path):
    out = run("anki", str(sample_path), "--previous", str(tmp_path / "gone.apkg"), "-o", f"{tmp_path}/", code=2)
    assert out.strip() == f"error: --previous {tmp_path / 'gone.apkg'}: no such file; name an earlier .apkg of " \
                          "this deck"
    assert "Errno" not in out
    keys = run("list", str(sample_path), "-d", "easy,medium", "--keys").split()
    assert len(keys) == 25
    out = run("list", str(sample_path), "-d", "easy,expert", code=2)
    assert "--difficulty 'expert': use easy, medium, hard or unrated" in out
    out = run("list", str(sample_path), "-t", "middleware", "-t", "nosuch", "-t", "neither", code=2)
    assert "--topic 'nosuch', 'neither' matches nothing" in out
    one = write(tmp_path / "one.json", page([subtopic("s", "Solo", [question("q1")])]))
    assert "1 subtopic " in run("list", str(one)) and "1 question in 1 subtopic from 1 file" in run("validate",
                                                                                                    str(one))


def test_the_same_file_twice_or_with_its_folder_is_read_once(tmp_path, sample_path):
    folder = tmp_path / "bank"
    folder.mkdir()
    copy = shutil.copy(sample_path, folder / "b.json")
    keys = run("list", str(copy), str(folder), str(copy), "--keys").split()
    assert len(keys) == 34 == len(set(keys))


def test_list_keys_are_the_note_keys(sample_path, sample_library):
    assert run("list", str(sample_path), "--keys").split() == [r.question.key for r in sample_library.questions()]


def test_list_accepts_a_pasted_breadcrumb(sample_path):
    keys = run("list", str(sample_path), "--keys", "-t", "FastAPI › Deployment & Middleware › Middleware").split()
    assert len(keys) == 12 and all(k.startswith("fastapi/deployment/middleware/") for k in keys)
    assert len(run("list", str(sample_path), "--keys", "-t", "fastapi > deployment & middleware").split()) == 34


def test_a_filtered_export_never_replaces_the_full_default_file(tmp_path, sample_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run("anki", str(sample_path))
    run("anki", str(sample_path), "-d", "hard")
    run("anki", str(sample_path), "-t", "middleware", "-d", "easy", "-d", "medium")
    run("anki", str(sample_path), "-t", "FastAPI › Deployment & Middleware › Background Tasks")
    run("anki", str(sample_path), "-t", "fastapi/deployment/uvicorn-gunicorn", "-d", "hard")
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == [
        "fastapi-deployment-background-tasks.apkg", "fastapi-deployment-hard.apkg",
        "fastapi-deployment-middleware-easy-medium.apkg", "fastapi-deployment-uvicorn-gunicorn-hard.apkg",
        "fastapi-deployment.apkg"]


# --- qaexport.toml -------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_config_file_drives_all_and_flags_override_it(tmp_path, sample_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qaexport.toml").write_text(f'''
sources = ["{sample_path}"]
output = "books"
title = "My Prep"
[pdf]
paper = "letter"
answers = "end"
[anki]
deck_name = "Prep::2026"
''')
    run("all")
    pdf = PdfReader(tmp_path / "books" / "fastapi-deployment.pdf")
    assert round(float(pdf.pages[0].mediabox.width)) == 612
    assert pdf.metadata.title == "My Prep"
    text = pdf_text(pdf)
    assert "Answer on page" in text
    epub = zipfile.ZipFile(tmp_path / "books" / "fastapi-deployment.epub")
    opf = next(epub.read(n).decode() for n in epub.namelist() if n.endswith(".opf"))
    assert "My Prep" in opf and "(quiz)" not in opf  # [pdf] answers applies to the PDF only
    # a flag beats the file
    run("pdf", "--paper", "a4", "-o", str(tmp_path / "a4.pdf"))
    assert round(float(PdfReader(tmp_path / "a4.pdf").pages[0].mediabox.width)) == 595


def test_every_bad_key_is_listed_at_once(tmp_path, sample_path):
    config = tmp_path / "bad.toml"
    config.write_text('sourcez = "x"\ntheme = 3\n[pdf]\npaper = "A5"\ncolour = true\n[anki]\nflat = "yes"\n'
                      '[nosuch]\nx = 1\n')
    result = runner.invoke(app, ["pdf", str(sample_path), "--config", str(config), "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    expected = [
        '1: sourcez = "x": unknown key (known: sources, output, title, author, theme, night_theme, [anki], ',
        "2: theme = 3: must be text (in quotes)",
        '4: [pdf] paper = "A5": must be one of a4, letter',
        "5: [pdf] colour = true: unknown option (known: paper, answers, title, author",
        '7: [anki] flat = "yes": must be true or false',
        "8: nosuch = {…}: unknown key (known: sources",  # a table is found by its header (it had no line)
    ]
    assert len(lines) == len(expected), result.output
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(f"error: {config}:{start}"), line
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize(("command", "text", "expected"), [
    ("pdf", 'theme = "nosuch"\n\n[pdf]\nparts = -1\nlanguage = "!!"\n', [
        'qaexport.toml:1: theme = "nosuch": unknown theme \'nosuch\'; run `qaexport themes` to list the installed ones',
        "qaexport.toml:4: [pdf] parts = -1: give 0 (automatic), 1 (whole) or more",
        'qaexport.toml:5: [pdf] language = "!!": give a language code such as en or pt-BR']),
    ("cards", '[cards]\nper_page = -3\nback_offset = "abc"\n', [
        "qaexport.toml:2: [cards] per_page = -3: give a positive number of cards, or 0 for as many as fit",
        'qaexport.toml:3: [cards] back_offset = "abc": give two numbers in millimetres, X,Y (e.g. 1.5,-0.5)']),
])
def test_every_wrong_value_of_the_config_file_is_told_at_once_by_its_key(tmp_path, sample_path, command, text,
                                                                         expected):
    """Values only the exporter's checks find wrong (a theme not installed, parts below 0, an offset that is not two
    numbers) were told one at a time, in terms of command-line flags (`--back-offset 'abc'`); every one is told
    now, one line each, with the file's line, table, key and value."""
    (tmp_path / "qaexport.toml").write_text(text)
    done = subprocess.run([sys.executable, "-m", "qaexport", command, str(sample_path), "-o", "out/"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [f"error: {line}" for line in expected]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ["[pdf\npaper=1", "title = 'x'\ntitle = 'y'"])
def test_a_config_that_is_not_toml_is_one_line(tmp_path, sample_path, text):
    config = tmp_path / "c.toml"
    config.write_text(text)
    result = runner.invoke(app, ["list", str(sample_path), "--config", str(config)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(f"error: {config}: not valid TOML (")


def test_values_from_the_config_file_are_blamed_on_the_file(tmp_path, sample_path):
    config = tmp_path / "q.toml"
    config.write_text('[anki]\ndeck_name = "A::::B"\n[epub]\nlanguage = "not a lang!!"\n')
    result = runner.invoke(app, ["all", str(sample_path), "--config", str(config), "-o", f"{tmp_path}/out/"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 2, result.output
    assert lines[0] == f"error: {config}:2: [anki] deck_name = \"A::::B\": a part between '::' is empty; write e.g. " \
                       "'Interview::2026'"
    assert lines[1] == f"error: {config}:4: [epub] language = \"not a lang!!\": give a language code such as en " \
                       "or pt-BR"
    assert not (tmp_path / "out").exists()
    config.write_text('theme = "monokia"\n')
    result = runner.invoke(app, ["pdf", str(sample_path), "--config", str(config), "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {config}:1: theme = \"monokia\": unknown theme 'monokia'; run " \
                                    "`qaexport themes` to list the installed ones"


def test_what_was_written_is_named_exactly(tmp_path, sample_path):
    # brackets and colons in a path are text, not rich markup or emoji codes
    target = tmp_path / "[bold]draft :smile:.epub"
    assert run("epub", str(sample_path), "-o", str(target), "--no-cache").startswith(f"wrote {target} (")
    assert target.is_file()


EXPORTERS = {"anki": "x.apkg", "cards": "x.pdf", "epub": "x.epub", "markdown": "x", "pdf": "x.pdf", "site": "x",
             "all": "x/"}


@pytest.mark.parametrize("command", [*EXPORTERS, "convert"])
def test_an_empty_output_path_is_a_usage_error_and_nothing_is_written(command, tmp_path, sample_path, monkeypatch):
    """`-o ''` was the working folder: the output landed there under its default name."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [command, str(sample_path), "-o", ""])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: -o '': the ") and "path is empty; name " in line and "e.g. -o " in line, line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [*EXPORTERS, "convert"])
def test_an_output_inside_a_file_says_the_file_is_not_a_folder(command, tmp_path, sample_path, monkeypatch):
    """`-o README.md/x.pdf` said "cannot write here (File exists)"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("notes\n")
    target = "README.md/" + EXPORTERS.get(command, "bank")
    result = runner.invoke(app, [command, str(sample_path), "-o", target])
    assert result.exit_code == 2, result.output
    assert result.output == (f"error: -o {target}: README.md is a file, not a folder; choose another --output, "
                             "or move README.md away\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    assert (tmp_path / "README.md").read_text() == "notes\n"


def test_init_in_a_folder_inside_a_file_says_the_file_is_not_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("notes\n")
    for folder in ("notes.txt/new", "notes.txt"):
        result = runner.invoke(app, ["init", folder])
        assert result.exit_code == 2
        assert result.output == f"error: {folder}: notes.txt is a file, not a folder; choose another DIR, or move " \
                                "notes.txt away\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_the_writer_says_which_file_is_in_the_way_for_every_kind_of_output(tmp_path):
    """qaexport/output.py, the one place that writes: a file, a set of files, a whole folder (a file there after
    the command's own check: made meanwhile, or a caller that has none)."""
    from qaexport import output
    from qaexport.errors import OutputError

    (tmp_path / "README.md").write_text("notes\n")
    blocked = tmp_path / "README.md" / "deeper" / "x.pdf"
    expected = f"{blocked}: {tmp_path / 'README.md'} is a file, not a folder; choose another --output, or move " \
               f"{tmp_path / 'README.md'} away"
    with pytest.raises(OutputError) as written, output.atomic_path(blocked):
        pass
    assert str(written.value) == expected
    with pytest.raises(OutputError) as tree:
        output.write_tree(blocked, {"a.md": b"a"})
    assert str(tree.value) == expected
    with pytest.raises(OutputError) as replaced:
        output.replace_tree(blocked, {"m": b""}, "m")
    assert str(replaced.value) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]


def test_help_and_docs_say_what_o_theme_and_night_theme_do():
    """site/markdown -o is the folder itself; --night-theme reaches the site too; markdown renders no code, so it
    refuses --theme (it was accepted and did nothing); an image over 40 MP is shrunk, not left out."""
    def helped(command: str) -> str:
        return " ".join(runner.invoke(app, [command, "--help"], terminal_width=200).output.split())

    site, markdown = helped("site"), helped("markdown")
    assert "Output folder: the site folder itself (-o x/ fills x/), not one to write <name>-site into" in site
    assert "Output folder: the markdown folder itself (-o x/ fills x/)" in markdown
    assert "the study site's night colours" in site and "--theme" not in markdown
    refused = runner.invoke(app, ["markdown", "--theme", "monokai", "-o", "never/"])
    assert refused.exit_code == 2 and "no such option --theme" in refused.output
    docs = Path(__file__).resolve().parent.parent / "docs"
    guide, formats = ((docs / name).read_text(encoding="utf-8") for name in ("guide.md", "formats.md"))
    assert "Anki, EPUB and the study site" in " ".join(guide.split())
    assert "over 40 megapixels is shrunk to 40" in " ".join(formats.split())


def test_a_site_written_through_a_symbolic_link_fills_the_folder_it_leads_to(tmp_path):
    """`site -o public/` where public is a link to the deployed folder: the new pages go there and the link stays.
    Before, the swap renamed the link away and put a new folder in its place: the deployed site stayed old and the
    link was gone, with no word (trial10)."""
    bank = tmp_path / "a.md"
    bank.write_text("---\nframework: {name: F, slug: f}\ntopic: {name: T, slug: t}\nsubtopic: {name: S, slug: s}\n"
                    "---\n\n## Old question {#q .easy}\n\nA.\n", encoding="utf-8")
    deployed, link = tmp_path / "www", tmp_path / "public"
    assert runner.invoke(app, ["site", str(bank), "-o", f"{deployed}/"]).exit_code == 0
    link.symlink_to(deployed, target_is_directory=True)
    bank.write_text(bank.read_text(encoding="utf-8").replace("Old question", "New question"), encoding="utf-8")
    result = runner.invoke(app, ["site", str(bank), "-o", f"{link}/"])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == deployed.resolve()
    assert "New question" in (deployed / "f" / "t" / "s.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "public", "www"]  # no temporary folder left


def test_a_read_only_output_folder_is_told_the_same_for_the_site_as_for_a_file(tmp_path, sample_path):
    """trial10 #20: `site -o ro/` on a read-only folder said "write failed (Permission denied); the previous folder is
    unchanged" where `epub -o ro/x.epub` says "cannot write in this folder (Permission denied); choose another
    --output". A real refusal: mode 555, without the root's right to write anywhere (setpriv, when run as root)."""

    prefix = without_file_rights()
    said = {}
    for name, target in (("site", "ro/"), ("epub", "ro/x.epub")):
        (tmp_path / "ro").mkdir(exist_ok=True)
        (tmp_path / "ro").chmod(0o555)
        done = subprocess.run([*prefix, sys.executable, "-m", "qaexport", name, str(sample_path), "-o", target],
                              cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 1, done.stderr
        said[name] = done.stderr.splitlines()[-1]
    assert said["site"] == said["epub"] == ("error: ro: cannot write in this folder (Permission denied); choose "
                                            "another --output"), said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ro"] and not any((tmp_path / "ro").iterdir())
