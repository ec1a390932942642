"""Messages a new user's trial found wanting (fix8): each run as the user ran it, a real `qaexport` process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.cli_run import without_file_rights

ROOT = Path(__file__).resolve().parent.parent


def test_a_theme_name_is_matched_case_insensitively_like_every_choice(tmp_path, sample_path):
    """`--theme MONOKAI` was 'unknown theme' though the guide says choices are case-insensitive; it is monokai now,
    the same bytes out. An unknown one is still one line."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    for theme, name in (("MONOKAI", "upper.epub"), ("monokai", "lower.epub")):
        done = subprocess.run([sys.executable, "-m", "qaexport", "epub", str(sample_path), "--theme", theme, "-o",
                               str(tmp_path / name), "--no-cache"], capture_output=True, text=True, env=env,
                              timeout=300)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "upper.epub").read_bytes() == (tmp_path / "lower.epub").read_bytes()
    done = subprocess.run([sys.executable, "-m", "qaexport", "epub", str(sample_path), "--theme", "NoSuch", "-o",
                           str(tmp_path / "x.epub")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2 and done.stderr == "error: unknown theme 'NoSuch'; run `qaexport themes` to list " \
                                                    "the installed ones\n"


def _qaexport(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qaexport", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_init_names_its_own_argument_in_its_hints(tmp_path):
    """init takes a DIR argument, not -o/--output; its messages said `choose a folder for --output`."""
    (tmp_path / "bad1.md").write_text("x")
    done = _qaexport("init", "bad1.md", cwd=tmp_path)
    assert done.returncode in (1, 2) and done.stderr.startswith("error: bad1.md: ") and "DIR" in done.stderr, \
        done.stderr
    assert "--output" not in done.stderr and len(done.stderr.splitlines()) == 1 and not (tmp_path / "bank").exists()
    if Path("/sys/kernel").is_dir():  # a folder nobody may write in, root included
        done = _qaexport("init", "/sys/x", cwd=tmp_path)
        assert done.returncode == 1 and done.stderr.startswith("error: /sys") and "cannot write" in done.stderr
        assert done.stderr.endswith("; choose another folder (qaexport init DIR)\n") and "--output" not in done.stderr


def test_anki_previous_that_is_a_folder_says_so(tmp_path, sample_path):
    (tmp_path / "old").mkdir()
    done = _qaexport("anki", str(sample_path), "--previous", "old", "-o", "x.apkg", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr == "error: --previous old: is a folder, not an .apkg file; name an " \
                                                    "earlier .apkg of this deck\n"
    assert not (tmp_path / "x.apkg").exists()


def test_the_help_and_the_command_tables_tell_what_the_code_does(tmp_path):
    """The trial found: `all` said to write deck, booklet and EPUB (it writes the site too); exit code 3 missing from
    the help; the `markdown` command missing from the README's and the guide's tables; in `all -h` --answers told
    only its EPUB meaning, and --paper, --publisher, --tagged, --parts named no format."""
    top = _qaexport("-h", cwd=tmp_path).stdout
    assert "deck, booklet, EPUB and site of the hard ones" in top and "3 installation problem" in top
    commands = re.findall(r"^  (\w+)  ", top.split("Commands:")[1], flags=re.M)
    assert "markdown" in commands and "all" in commands
    for doc in ("README.md", "docs/guide.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        missing = [c for c in commands if f"| `qaexport {c}" not in text]
        assert not missing, (doc, missing)
        assert "deck, booklet and EPUB" not in text
    told: dict[str, str] = {}  # each option's help, its wrapped lines joined
    flag = ""
    for line in _qaexport("all", "-h", cwd=tmp_path).stdout.split("Options:")[1].splitlines():
        if line.strip().startswith("-"):
            flag = line.split()[0] if line.split()[0] != "-o," else "-o"
            told[flag] = line.strip()
        elif flag:
            told[flag] += " " + line.strip()
    for flag, formats in (("--paper", "(pdf)"), ("--publisher", "(epub)"), ("--tagged", "(pdf)"),
                          ("--parts", "(pdf)"), ("--previous", "(anki)"), ("--language", "(epub, pdf, site)")):
        assert formats in told[flag], told[flag]
    assert "epub: inline: answers under each question" in told["--answers"]
    assert "pdf: inline: a study booklet" in told["--answers"]


def test_all_named_like_a_file_warns_that_it_is_a_folder(tmp_path, sample_path):
    done = _qaexport("all", str(sample_path), "-o", "x.pdf", "--no-cache", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning: -o x.pdf: `all` writes several files, so -o names a folder: they go into the folder x.pdf/ " \
           "(give a folder name to silence this)" in done.stderr.splitlines()
    assert (tmp_path / "x.pdf").is_dir()
    done = _qaexport("all", str(sample_path), "-o", "books/", "--no-cache", cwd=tmp_path)  # a folder: nothing to say
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr


def test_an_unknown_theme_from_the_config_file_is_one_short_line(tmp_path, sample_path):
    """A theme name of 200,000 characters in qaexport.toml was repeated whole in the error (one line of 200 KB)."""
    (tmp_path / "qaexport.toml").write_text(f'theme = "{"x" * 200_000}"\n', encoding="utf-8")
    done = _qaexport("pdf", str(sample_path), "-o", str(tmp_path / "book.pdf"), cwd=tmp_path)
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "unknown theme" in lines[0], done.stderr[:500]
    assert len(lines[0]) < 400, len(lines[0])
    assert not (tmp_path / "book.pdf").exists()


def test_serve_tells_a_wrong_theme_of_the_config_file_as_every_command_does(tmp_path, sample_path):
    """`serve` checked qaexport.toml's theme through the highlighter alone: 'unknown theme', no file, line or key, and
    only the first wrong value. Now the same lines as an exporter's (one place makes them), nothing served."""
    (tmp_path / "qaexport.toml").write_text('title = "x"\ntheme = "nope"\n\n[apkg]\nall_cards = 1\n', encoding="utf-8")
    served = _qaexport("serve", str(sample_path), "--port", "0", cwd=tmp_path)
    site = _qaexport("site", str(sample_path), "-o", str(tmp_path / "site"), cwd=tmp_path)
    assert served.returncode == 2 and served.stdout == "", (served.stdout, served.stderr)
    assert served.stderr == site.stderr == (
        "error: qaexport.toml:2: theme = \"nope\": unknown theme 'nope'; run `qaexport themes` to list the installed "
        "ones\nerror: qaexport.toml:5: [apkg] all_cards = 1: must be true or false\n"), served.stderr


def test_a_formula_warning_shows_the_tex_as_written(tmp_path):
    r"""`formula '\\frac{1}{'` (a Python repr) where the file has `\frac{1}{`: the TeX is shown as written, bounded,
    its control characters escaped (never sent to the terminal)."""
    (tmp_path / "m.md").write_text("---\nframework: F\ntopic: T\nsubtopic: S\n---\n\n## Sum? {#s .easy}\n\n"
                                   "$\\frac{1}{$ and $\\frac{2\x1b[31m}{$ and $" + "x" * 100 + "\\foo$\n",
                                   encoding="utf-8")
    done = _qaexport("validate", "m.md", cwd=tmp_path)
    said = [line for line in done.stderr.splitlines() if "formula" in line]
    assert said[0].startswith("warning: m.md:9: formula '\\frac{1}{' cannot be typeset ("), done.stderr
    assert "formula '\\frac{2\\x1b[31m}{' cannot" in said[1] and "\x1b" not in done.stderr, said
    assert f"formula '{'x' * 60}…' cannot" in said[2], said


def test_an_unreadable_config_file_is_said_plainly_with_its_fix(tmp_path, sample_path):
    """trial10 #18: "cannot read the config file ([Errno 13] Permission denied: 'qaexport.toml')", a Python repr
    and no fix. A real refusal of the system: the file's mode 000, read without the root's right to read anything
    (setpriv drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH when the tests run as root)."""

    config = tmp_path / "qaexport.toml"
    config.write_text('theme = "default"\n', encoding="utf-8")
    config.chmod(0)
    command = [*without_file_rights(), sys.executable, "-m", "qaexport", "validate", str(sample_path)]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.splitlines() == [
        "error: qaexport.toml: cannot read the config file (Permission denied); make it readable (chmod u+r "
        "qaexport.toml) or name another with --config"], done.stderr
