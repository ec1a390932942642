"""`qaexport site`: the files, their links, their policy, hostile content, reproducible bytes, how the folder is
replaced. The pages in a real browser are tested in test_site_browser.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from qaexport.cli import app
from qaexport.errors import OutputError
from qaexport.exporters.site import CSP, MARKER
from qaexport.exporters.site.search import plain_text, words
from qaexport.output import replace_tree
from tests.site_bank import ANSWER_ONLY_WORD, write_bank

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def build_site(sources: Path, target: Path, *args: str, env: dict[str, str] | None = None) -> Path:
    result = runner.invoke(app, ["site", str(sources), "-o", str(target), *args], env=env)
    assert result.exit_code == 0, result.output
    return target


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Path:
    return write_bank(tmp_path_factory.mktemp("bank"))


@pytest.fixture(scope="module")
def site(bank, tmp_path_factory) -> Path:
    return build_site(bank, tmp_path_factory.mktemp("out") / "site")


class Page(HTMLParser):
    """What a page refers to and runs: links, sources, script elements, inline handlers, the CSP."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []  # (tag, reference)
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.csp: list[str] = []
        self.ids: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name in ("href", "src", "action") and value is not None:
                self.refs.append((tag, value))
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            if name == "id" and value:
                self.ids.add(value)
        if tag == "script":
            self.scripts.append(values)
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append(values.get("content") or "")


def pages(site: Path) -> dict[str, Page]:
    return {str(p.relative_to(site)): Page(p.read_text(encoding="utf-8")) for p in sorted(site.rglob("*.html"))}


def test_the_site_has_an_index_a_page_per_subtopic_search_and_review(site):
    files = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    assert files == [MARKER, "assets/search-index.js", "assets/site.css", "assets/site.js", "assets/theme.js",
                     "index.html", "python/basics/classes.html", "python/basics/functions.html", "review.html",
                     "search.html"]
    index = (site / "index.html").read_text(encoding="utf-8")
    # counts per difficulty: the whole bank, then per subtopic (unrated only where there is such a question)
    assert '7 questions: <span class="tally"><span class="count easy">2 easy</span><span class="count medium">2 ' \
           'medium</span><span class="count hard">2 hard</span><span class="count unrated">1 unrated</span>' in index
    assert re.search(r'href="python/basics/classes.html">Classes</a> <span class="tally"><span class="count easy">1 '
                     r'easy</span><span class="count medium">1 medium</span><span class="count unrated">1 unrated',
                     index)


def test_every_reference_is_relative_and_lands_on_a_file_or_an_anchor_of_the_site(site):
    for name, page in pages(site).items():
        for tag, ref in page.refs:
            parts = urlsplit(ref)
            if tag == "a" and parts.scheme in ("https", "mailto"):  # links the content itself makes
                continue
            assert not parts.scheme and not parts.netloc and not ref.startswith("/"), (name, ref)
            target = (site / name).parent / parts.path if parts.path else site / name
            assert target.resolve().is_file(), (name, ref)
            assert target.resolve().is_relative_to(site.resolve()), (name, ref)
            if parts.fragment:
                assert parts.fragment in pages(site)[str(target.resolve().relative_to(site.resolve()))].ids, ref


def test_pages_run_only_the_sites_own_script_files_under_a_policy_that_forbids_others(site):
    for name, page in pages(site).items():
        assert page.csp == [CSP], name
        assert page.handlers == [], name
        for script in page.scripts:
            src = script.get("src")
            assert src and (site / name).parent.joinpath(src).resolve().is_file(), (name, script)
    policy = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'none'"
    assert "unsafe" not in CSP and "http" not in CSP


def test_hostile_content_stays_text(site):
    page = (site / "python/basics/functions.html").read_text(encoding="utf-8")
    parsed = Page(page)
    assert [s.get("src") for s in parsed.scripts] == ["../../assets/theme.js", "../../assets/site.js"]
    assert "&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;" in page or "&lt;script&gt;alert('q')" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    for _tag, ref in parsed.refs:
        assert not ref.lower().replace("\t", "").strip().startswith(("javascript:", "data:", "vbscript:", "file:")), ref
    assert "<iframe" not in page and "<object" not in page and "<svg" not in page and "<style" not in page
    index = (site / "assets/search-index.js").read_text(encoding="utf-8")
    assert "<" not in index  # escaped as \\u003c: nothing in the index can end or open markup
    data = json.loads(index.removeprefix("window.qaexportIndex = ").rstrip(";\n"))
    assert any("<script>alert('q')</script>" in doc[2] for doc in data["docs"])  # the text itself, as text


def test_the_search_index_holds_answer_words_and_cuts_words_like_the_page(site):
    data = json.loads((site / "assets/search-index.js").read_text(encoding="utf-8")
                      .removeprefix("window.qaexportIndex = ").rstrip(";\n"))
    assert data["terms"] == sorted(data["terms"])
    term = data["terms"].index(ANSWER_ONLY_WORD)
    (doc,) = data["postings"][term]
    page, qid, question, difficulty = data["docs"][doc]
    assert (qid, difficulty, data["pages"][page][0]) == ("def-keyword", "easy", "python/basics/functions.html")
    assert ANSWER_ONLY_WORD not in question.lower()
    assert words("Ünïcode naïve_x 2nd, e.g. NFD: cafe\u0301") == {"ünïcode", "naïve_x", "2nd", "e", "g", "nfd",
                                                                   "café"}
    assert plain_text('<p>a<code>b</code></p><p>c &amp; d</p><pre class="hl"><code><span>x</span>y\nz</code></pre>') \
        == "ab c & d xy z"


def _build_in_process(out: Path, sources: Path) -> dict[str, bytes]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run([sys.executable, "-m", "qaexport", "site", str(sources), "-o", str(out)], env=env, check=True,
                   capture_output=True, timeout=120)
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_two_builds_in_separate_processes_are_byte_identical(bank, tmp_path):
    first = _build_in_process(tmp_path / "one", bank)
    second = _build_in_process(tmp_path / "two", bank)
    assert first == second
    assert b"2023-11-14" in first["index.html"]  # the build's own date, not the clock's


def test_the_default_folder_is_named_after_the_content_and_all_writes_it(bank, tmp_path):
    os.chdir(tmp_path)
    try:
        result = runner.invoke(app, ["site", str(bank)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "dist" / "python-basics-site" / "index.html").is_file()
        assert "wrote dist/python-basics-site/ (10 files)" in result.output
    finally:
        os.chdir(ROOT)
    result = runner.invoke(app, ["all", str(bank), "-o", f"{tmp_path}/all/"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "all" / "python-basics-site" / "python" / "basics" / "classes.html").is_file()


def _rebuild_without_classes(bank: Path, target: Path, tmp_path: Path) -> None:
    """The site built again into ``target`` with the Classes subtopic's file moved out of the bank (put back after)."""
    (bank / "python" / "02-classes.md").rename(tmp_path / "moved.md")
    try:
        build_site(bank, target)
    finally:
        (tmp_path / "moved.md").rename(bank / "python" / "02-classes.md")


def test_a_rebuild_replaces_the_folder_and_drops_pages_of_removed_subtopics(bank, tmp_path):
    target = build_site(bank, tmp_path / "site")
    assert (target / "python/basics/classes.html").is_file()
    _rebuild_without_classes(bank, target, tmp_path)
    assert not (target / "python/basics/classes.html").exists()
    assert (target / "python/basics/functions.html").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def test_a_rebuild_keeps_the_files_the_user_put_in_the_site_folder(bank, tmp_path):
    """trial10 #3: a CNAME, a .nojekyll, a note put in the site folder were deleted by the next build, silently. The
    marker lists the files a build wrote; the next build replaces those (a removed subtopic's page goes) and keeps
    every other file, as a static host's settings must survive; a copy of the site (the manifest's) takes only the
    build's files."""
    target = build_site(bank, tmp_path / "site")
    mine = {"CNAME": b"quiz.example.org\n", ".nojekyll": b"", "notes/todo.txt": b"mine"}
    for rel, data in mine.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    _rebuild_without_classes(bank, target, tmp_path)
    assert not (target / "python/basics/classes.html").exists()
    assert {rel: (target / rel).read_bytes() for rel in mine} == mine
    build_site(bank, target)  # a later build keeps them again, and a copy of this site leaves them out
    assert {rel: (target / rel).read_bytes() for rel in mine} == mine
    build_site(bank, tmp_path / "copy")
    assert not any((tmp_path / "copy" / rel).exists() for rel in mine)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def _entries(folder: Path) -> dict[str, tuple[str, int, str, int]]:
    """Every entry below ``folder`` (links not followed): kind, permission bits, link text or bytes' size, inode (a
    file's, a link's: the same one kept, not a copy; a folder is made again)."""
    found = {}
    for here, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(here, name)
            st = path.lstat()
            kind = "link" if path.is_symlink() else "folder" if path.is_dir() else "file"
            found[path.relative_to(folder).as_posix()] = (kind, st.st_mode & 0o7777,
                                                          os.readlink(path) if kind == "link" else str(st.st_size),
                                                          0 if kind == "folder" else st.st_ino)
    return found


def test_a_rebuild_keeps_the_links_and_folders_the_user_put_in_the_site_folder(bank, tmp_path):
    """trial11 #2: a rebuild kept the user's regular files only: a link (a deck linked in, a folder of downloads
    linked in, one to nothing), an empty folder, a git checkout's empty folders (.git/refs/tags) were deleted, and
    "wrote site/ (N files)" counted the kept files as written. Every thing of the user's stays as it was (the same
    file: its inode; its permissions), a link is never followed, neither kept nor removed: a page the user replaced
    by a link goes as a link, its target untouched; the count is what the build wrote."""
    target = build_site(bank, tmp_path / "site")
    own = tmp_path / "own"
    (own / "downloads").mkdir(parents=True)
    (own / "deck.apkg").write_bytes(b"a deck")
    (own / "downloads" / "notes.pdf").write_bytes(b"notes")
    (own / "page.html").write_bytes(b"the user's page")
    (target / "deck.apkg").symlink_to(own / "deck.apkg")
    (target / "downloads").symlink_to("../own/downloads", target_is_directory=True)
    (target / "gone").symlink_to("nowhere")
    (target / "python/basics/functions.html").unlink()  # a page of the build's, replaced by a link
    (target / "python/basics/functions.html").symlink_to(own / "page.html")
    for folder in (".git/refs/tags", ".git/objects/info", "empty", "private/deeper"):
        (target / folder).mkdir(parents=True)
    (target / ".git/HEAD").write_bytes(b"ref: refs/heads/main\n")
    (target / "private/deeper/key.txt").write_bytes(b"secret")
    (target / "private/deeper/key.txt").chmod(0o600)
    (target / "private").chmod(0o700)
    (target / "python/basics/mine.txt").write_bytes(b"beside the pages")
    listed = (target / MARKER).read_text().split("keeps every other file here):\n", 1)[1].splitlines()
    mine = {rel: entry for rel, entry in _entries(target).items()
            if rel not in {*listed, MARKER, "python", "python/basics", "assets", "media"}}
    assert len(mine) == 14, sorted(mine)  # 3 links, 8 folders, 3 files (the page's link is the build's)
    (bank / "python" / "02-classes.md").rename(tmp_path / "moved.md")
    try:
        result = runner.invoke(app, ["site", str(bank), "-o", str(target)])
    finally:
        (tmp_path / "moved.md").rename(bank / "python" / "02-classes.md")
    assert result.exit_code == 0, result.output
    after = _entries(target)
    assert {rel: after.get(rel) for rel in mine} == mine
    assert not (target / "python/basics/classes.html").exists()  # the removed subtopic's page went
    page = target / "python/basics/functions.html"
    assert not page.is_symlink() and b"<html" in page.read_bytes()  # the build's page, written again
    assert (own / "page.html").read_bytes() == b"the user's page"  # the link went, not what it named
    assert sorted(p.relative_to(own).as_posix() for p in own.rglob("*")) == [
        "deck.apkg", "downloads", "downloads/notes.pdf", "page.html"]
    written = len((target / MARKER).read_text().split("keeps every other file here):\n", 1)[1].splitlines()) + 1
    assert written == len(listed)  # a page fewer (classes), the marker more
    assert f"wrote {target}/ ({written} files)" in result.output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def _a_folder_of_yours_where_a_page_goes(target: Path) -> str:
    (target / "python/basics/classes.html").unlink()
    (target / "python/basics/classes.html").mkdir()
    (target / "python/basics/classes.html/draft.txt").write_bytes(b"mine")
    return (f"error: {target}/python/basics/classes.html: is a folder of yours and the site now writes a file of "
            "that name; move it away or choose another --output")


def _a_file_of_yours_where_a_folder_goes(target: Path) -> str:
    shutil.rmtree(target / "assets")
    (target / "assets").write_bytes(b"mine")
    return (f"error: {target}/assets: is not qaexport's and the site now writes a folder of that name; move it away "
            "or choose another --output")


@pytest.mark.parametrize("users_thing", [_a_folder_of_yours_where_a_page_goes, _a_file_of_yours_where_a_folder_goes])
def test_a_thing_of_the_users_where_the_site_now_writes_the_other_kind_stops_the_build(bank, tmp_path, users_thing):
    """A file of the user's named as a folder the site writes, or a folder of the user's named as a file the site
    writes, could not be kept: the build stops, saying which, and the folder is left as it was."""
    target = build_site(bank, tmp_path / "site")
    said = users_thing(target)
    before = _entries(target)
    result = runner.invoke(app, ["site", str(bank), "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == said
    assert _entries(target) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_folder_not_written_by_qaexport_is_never_replaced(bank, tmp_path):
    target = tmp_path / "documents"
    target.mkdir()
    (target / "thesis.txt").write_text("years of work")
    result = runner.invoke(app, ["site", str(bank), "-o", str(target)])
    assert result.exit_code == 2  # a wrong -o, as every other (docs/guide.md's exit codes)
    # The bank's hostile images (a URL, a data: URL) are left out with a warning each; the one error is the folder.
    errors = [line for line in result.output.splitlines() if not line.startswith("warning: ")]
    assert errors == [f"error: {target}: folder is not empty and was not written by qaexport; "
                      "choose a new or empty folder"]
    assert sorted(p.name for p in target.iterdir()) == ["thesis.txt"]


def test_an_output_that_is_a_link_to_a_folder_replaces_that_folder_and_keeps_the_link(bank, tmp_path):
    """trial10 #10: `site -o lnk/` (lnk -> real, the deployed folder) made lnk a new real folder and left real old.
    The link is followed: real is replaced whole (beside it, atomically) and lnk still names it; a link to nothing
    is refused."""
    real = build_site(bank, tmp_path / "real")
    (real / "python/basics/classes.html").write_bytes(b"old page")
    link = tmp_path / "lnk"
    link.symlink_to("real", target_is_directory=True)
    result = runner.invoke(app, ["site", str(bank), "-o", f"{link}/"])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == "real"
    assert (real / "python/basics/classes.html").read_bytes() != b"old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lnk", "real"]  # no temporary folder left
    dangling = tmp_path / "gone"
    dangling.symlink_to("nowhere")
    result = runner.invoke(app, ["site", str(bank), "-o", f"{dangling}/"])
    assert result.exit_code == 2 and dangling.is_symlink(), result.output
    assert result.output.splitlines()[-1] == (f"error: {dangling}: is a link to nowhere, which is not a folder; "
                                              "remove the link or choose another --output")


def test_replace_tree_puts_the_old_folder_back_when_the_swap_fails(tmp_path, monkeypatch):
    target = tmp_path / "site"
    replace_tree(target, {"a.html": b"old", MARKER: b""}, MARKER)
    real = os.replace
    calls = []

    def failing(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the new folder into place
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OutputError, match="the previous folder is unchanged"):
        replace_tree(target, {"b.html": b"new", MARKER: b""}, MARKER)
    monkeypatch.undo()
    assert (target / "a.html").read_bytes() == b"old" and not (target / "b.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_replace_tree_removes_what_a_killed_run_left_behind(tmp_path):
    target = tmp_path / "site"
    stale = tmp_path / ".site.abc123.tmp"
    stale.mkdir()
    (stale / MARKER).write_bytes(b"")
    (stale / "half.html").write_bytes(b"...")
    foreign = tmp_path / ".site.keep.tmp"  # not ours: no marker
    foreign.mkdir()
    replace_tree(target, {"a.html": b"x", MARKER: b""}, MARKER)
    assert not stale.exists() and foreign.exists()


def test_cloze_images_and_math_reach_the_page_as_a_browser_shows_them(tmp_path):
    """Formulas as MathML only (their print drawing carries inline styles the policy refuses), images copied into
    media/ and shown from there, cloze blanks in the question and the filled deletions in the answer."""
    from tests.test_cloze_images_math import write_bank as write_cim_bank

    site = build_site(write_cim_bank(tmp_path / "cim"), tmp_path / "site")
    page = (site / "science/physics/basics.html").read_text(encoding="utf-8")
    assert "<math " in page and "<svg" not in page and "style=" not in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 3 and all(src.startswith("../../media/") for src in images)  # PNG, SVG, wide PNG
    assert all((site / "science/physics" / src).resolve().is_file() for src in images)
    assert '<span class="cloze">[how fast?]</span>' in page and '<span class="cloze">speed of light</span>' in page
