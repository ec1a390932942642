"""The persistent render cache: an unchanged rebuild renders nothing, damage is survived, runs may overlap."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from qaexport import render
from qaexport.render.cache import DB_NAME, RenderCache, default_folder
from tests.cli_run import qaexport

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def _cache_dir() -> Path:
    return Path(os.environ["QAEXPORT_CACHE_DIR"])


class Tally:
    """Questions rendered (the renderer called for HTML) and questions taken from the cache (keys found), counted
    by wrapping the two in this process: the sample has fewer questions than render in children."""

    def __init__(self) -> None:
        self.rendered = self.cached = 0


TALLY = Tally()


@pytest.fixture(autouse=True)
def _tally(monkeypatch):
    render_one, get_many = render.TextRenderer.render, RenderCache.get_many

    def counted_render(self, question, schemes):
        TALLY.rendered += any(s.is_html for s in schemes)
        return render_one(self, question, schemes)

    def counted_get_many(self, keys):
        found = get_many(self, keys)
        TALLY.cached += len(found)  # one key per question: each command here renders one HTML scheme
        return found

    monkeypatch.setattr(render.TextRenderer, "render", counted_render)
    monkeypatch.setattr(RenderCache, "get_many", counted_get_many)


def _run(*args: str) -> tuple[int, int]:
    """Run the CLI in-process; how many questions it rendered and how many it took from the cache."""
    before = (TALLY.rendered, TALLY.cached)
    # The build manifest would skip an unchanged rebuild whole; these tests are about the render cache beneath it.
    shutil.rmtree(_cache_dir() / "manifests", ignore_errors=True)
    qaexport(*args, env=EPOCH)
    return TALLY.rendered - before[0], TALLY.cached - before[1]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, sample_path: Path) -> dict[str, bytes]:
    """The sample as EPUB and .apkg built without any cache: what every cached build must equal. Built once for
    the tests that compare with it, with a cache folder and a state folder of its own."""
    tmp = tmp_path_factory.mktemp("reference")
    env = {**EPOCH, "QAEXPORT_CACHE_DIR": str(tmp / "cache"), "QAEXPORT_STATE_DIR": str(tmp / "state")}
    out = {}
    for fmt in ("epub", "apkg"):
        target = tmp / f"reference.{fmt}"
        qaexport("anki" if fmt == "apkg" else fmt, str(sample_path), "-o", str(target), "--no-cache", env=env)
        out[fmt] = target.read_bytes()
    assert not (tmp / "cache").exists(), "--no-cache wrote a cache"
    return out


def test_second_run_renders_nothing_and_writes_the_same_book(tmp_path, sample_path, reference):
    assert _run("epub", str(sample_path), "-o", str(tmp_path / "one.epub")) == (34, 0)
    # Another output path, same texts: every question comes from the cache.
    assert _run("epub", str(sample_path), "-o", str(tmp_path / "two.epub")) == (0, 34)
    assert (tmp_path / "one.epub").read_bytes() == (tmp_path / "two.epub").read_bytes() == reference["epub"]


@pytest.mark.slow
def test_second_pdf_of_an_unchanged_book_renders_nothing(tmp_path, sample_path):
    assert _run("pdf", str(sample_path), "-o", str(tmp_path / "one.pdf")) == (34, 0)
    assert _run("pdf", str(sample_path), "-o", str(tmp_path / "two.pdf")) == (0, 34)
    assert (tmp_path / "one.pdf").read_bytes() == (tmp_path / "two.pdf").read_bytes()


def test_one_changed_text_renders_one_question(tmp_path, sample_copy):
    _run("epub", str(sample_copy), "-o", str(tmp_path / "a.epub"))
    text = sample_copy.read_text(encoding="utf-8")
    assert text.count("Uvicorn") > 1
    sample_copy.write_text(text.replace("What is Uvicorn", "What exactly is Uvicorn", 1), encoding="utf-8")
    assert _run("epub", str(sample_copy), "-o", str(tmp_path / "b.epub")) == (1, 33)


def test_one_changed_answer_renders_one_question_and_shows_it(tmp_path, sample_copy):
    """The answer is part of an entry's key: a cache that found the old answer would print it."""
    _run("epub", str(sample_copy), "-o", str(tmp_path / "a.epub"))
    text = sample_copy.read_text(encoding="utf-8")
    old = "ASGI server"
    assert old in text
    sample_copy.write_text(text.replace(old, "ASGI server (edited answer)", 1), encoding="utf-8")
    assert _run("epub", str(sample_copy), "-o", str(tmp_path / "b.epub")) == (1, 33)
    with zipfile.ZipFile(tmp_path / "b.epub") as zf:
        pages = "".join(zf.read(n).decode() for n in zf.namelist() if n.endswith(".xhtml"))
    assert "ASGI server (edited answer)" in pages


#: What the rendered HTML depends on besides the texts, as ``renderer_version`` reads it: each changed alone must
#: render every question again (a cache that missed one would keep serving HTML of the old renderer).
RENDERER_PARTS = {
    "pygments version": ("qaexport.render.cache", "version", "pygments"),
    "markdown-it version": ("qaexport.render.cache", "version", "markdown-it-py"),
    "nh3 version": ("qaexport.render.cache", "version", "nh3"),
    "mdit-py-plugins version": ("qaexport.render.cache", "version", "mdit-py-plugins"),
    "latex2mathml version": ("qaexport.render.cache", "version", "latex2mathml"),
    "ziamath version": ("qaexport.render.cache", "version", "ziamath"),
    "ziafont version": ("qaexport.render.cache", "version", "ziafont"),
    "renderer version constant": ("qaexport.render.cache", "RENDERER_VERSION", 999),
    "python version": ("qaexport.render.cache", "sys", None),
    "renderer source": ("qaexport.render.cache", "__file__", None),
}


def _another_release(installed: Callable[[str], str], library: str, distribution: str) -> str:
    """The installed version of ``distribution``, but another one for ``library``."""
    return "0.0.1" if distribution == library else installed(distribution)


@pytest.mark.slow
@pytest.mark.parametrize("part", sorted(RENDERER_PARTS))
def test_each_part_of_the_renderer_version_renders_everything_again(part, tmp_path, sample_path, monkeypatch):
    import importlib
    import types

    from qaexport.render import cache as cache_module

    _run("epub", str(sample_path), "-o", str(tmp_path / "a.epub"))
    module_name, attribute, value = RENDERER_PARTS[part]
    module = importlib.import_module(module_name)
    if attribute == "sys":  # another Python: the same module, another version
        value = types.SimpleNamespace(version_info=(sys.version_info[0], sys.version_info[1] + 1))
    if attribute == "__file__":  # an edited renderer: a copy of the package's render/ and formats/, one file changed
        package = Path(cache_module.__file__).parent.parent
        for folder in ("render", "formats"):
            (tmp_path / folder).mkdir()
            for source in (package / folder).glob("*.py"):
                (tmp_path / folder / source.name).write_bytes(source.read_bytes())
        edited = tmp_path / "render" / "markdown.py"
        edited.write_text(edited.read_text() + "\n# edited\n")
        value = str(tmp_path / "render" / "cache.py")
    if attribute == "version":  # another release of one library (its installed metadata says so)
        value = partial(_another_release, module.version, value)
    with monkeypatch.context() as patch:
        patch.setattr(module, attribute, value)
        cache_module.renderer_version.cache_clear()
        try:
            assert _run("epub", str(sample_path), "-o", str(tmp_path / "b.epub")) == (34, 0)
        finally:
            cache_module.renderer_version.cache_clear()
    assert _run("epub", str(sample_path), "-o", str(tmp_path / "c.epub")) == (0, 34)  # and back again


def test_html_content_renders_again_when_the_library_media_change(tmp_path):
    """An Anki card's HTML may show only the library's images: another set of media is another key."""
    from qaexport.assemble import assemble
    from qaexport.model import ContentFormat, Library, Location, Media
    from qaexport.records import Node, QuestionRecord, ReadResult, SubtopicRecord
    from qaexport.render import Highlighter, Scheme, render_library
    from qaexport.render.cache import RenderCache

    def library(media: dict[str, Media]) -> Library:
        q = QuestionRecord("q", None, '<p>See <img src="0123456789abcdef.png"></p>', "<p>a</p>", Location("x"),
                           ContentFormat.HTML)
        lib, problems, _ = assemble([ReadResult(subtopics=[SubtopicRecord(Node("F"), Node("T"), Node("S"), [q],
                                                                          Location("x"), True)], media=media)])
        assert problems == []
        return lib

    image = Media("0123456789abcdef.png", b"\x89PNG\r\n\x1a\n", "image/png")
    cache = RenderCache(tmp_path / "cache", clock=lambda: 1e9)
    without = render_library(library({}), Highlighter(), (Scheme.COMPACT,), cache=cache)
    with_image = render_library(library({image.name: image}), Highlighter(), (Scheme.COMPACT,), cache=cache)
    key = "f/t/s/q"
    assert "<img" not in without[Scheme.COMPACT][key].question
    assert '<img src="0123456789abcdef.png"' in with_image[Scheme.COMPACT][key].question


def test_the_same_text_as_markdown_and_as_html_are_two_entries(tmp_path):
    from qaexport.assemble import assemble
    from qaexport.model import ContentFormat, Location
    from qaexport.records import Node, QuestionRecord, ReadResult, SubtopicRecord
    from qaexport.render import Highlighter, Scheme, render_library
    from qaexport.render.cache import RenderCache

    cache = RenderCache(tmp_path / "cache", clock=lambda: 1e9)
    out = {}
    for fmt in ContentFormat:
        q = QuestionRecord("q", None, "*x* <b>y</b>", "a", Location("x"), fmt)
        lib, _, _ = assemble([ReadResult(subtopics=[SubtopicRecord(Node("F"), Node("T"), Node("S"), [q],
                                                                   Location("x"), True)])])
        out[fmt] = render_library(lib, Highlighter(), (Scheme.COMPACT,), cache=cache)[Scheme.COMPACT]["f/t/s/q"]
    assert out[ContentFormat.MARKDOWN].question == "<em>x</em> &lt;b&gt;y&lt;/b&gt;"
    assert out[ContentFormat.HTML].question == "*x* <b>y</b>"


def test_portable_html_is_theme_independent_compact_is_not(tmp_path, sample_path):
    _run("anki", str(sample_path), "-o", str(tmp_path / "a.apkg"))
    # Anki notes store portable HTML: another theme reuses every entry.
    assert _run("anki", str(sample_path), "-o", str(tmp_path / "b.apkg"), "--theme", "monokai") == (0, 34)
    _run("epub", str(sample_path), "-o", str(tmp_path / "a.epub"))
    # Books use the compact classes of the active themes: a different theme set renders afresh.
    rendered, _ = _run("epub", str(sample_path), "-o", str(tmp_path / "b.epub"), "--theme", "monokai",
                       "--night-theme", "solarized-light")
    assert rendered > 0


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database_is_rebuilt(tmp_path, sample_path, reference, damage):
    _run("epub", str(sample_path), "-o", str(tmp_path / "warm.epub"))
    _run("anki", str(sample_path), "-o", str(tmp_path / "warm.apkg"))
    db = _cache_dir() / DB_NAME
    for suffix in ("-wal", "-shm"):  # a cleanly closed WAL database has none; be sure the damage is seen
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    data = db.read_bytes()
    db.write_bytes(b"this is not a database" * 100 if damage == "garbage" else data[: len(data) // 3])
    out = tmp_path / "after.epub"
    rendered, _ = _run("epub", str(sample_path), "-o", str(out))
    assert rendered > 0 and out.read_bytes() == reference["epub"]
    assert _run("epub", str(sample_path), "-o", str(out)) == (0, 34)  # the rebuilt cache works
    apkg = tmp_path / "after.apkg"
    _run("anki", str(sample_path), "-o", str(apkg))
    assert apkg.read_bytes() == reference["apkg"]


def test_a_corrupt_entry_is_a_miss_and_is_rewritten(tmp_path, sample_path, reference):
    _run("epub", str(sample_path), "-o", str(tmp_path / "warm.epub"))
    conn = sqlite3.connect(_cache_dir() / DB_NAME)
    with conn:
        key, answer = conn.execute("SELECT key, answer FROM entries ORDER BY key LIMIT 1").fetchone()
        conn.execute("UPDATE entries SET answer = ? WHERE key = ?", (answer[:-40] + b"<script>x</script>", key))
    conn.close()
    out = tmp_path / "after.epub"
    assert _run("epub", str(sample_path), "-o", str(out)) == (1, 33)
    assert out.read_bytes() == reference["epub"]
    assert _run("epub", str(sample_path), "-o", str(out)) == (0, 34)


@pytest.mark.slow
def test_two_concurrent_runs_both_succeed(tmp_path, sample_path):
    """Two processes render the same 400 questions at once into one (empty) cache."""
    bank = tmp_path / "bank"
    subprocess.run([sys.executable, "benchmarks/synth.py", "400", str(bank)], check=True,
                   cwd=Path(__file__).resolve().parent.parent)
    env = {**os.environ, **EPOCH}
    procs = [subprocess.Popen([sys.executable, "-m", "qaexport", "epub", str(bank), "-o", str(tmp_path / f"{i}.epub")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and b"warning" not in err, err.decode()
    subprocess.run([sys.executable, "-m", "qaexport", "epub", str(bank), "-o", str(tmp_path / "nc.epub"),
                    "--no-cache"], env=env, check=True, capture_output=True)
    expected = (tmp_path / "nc.epub").read_bytes()
    assert (tmp_path / "0.epub").read_bytes() == expected and (tmp_path / "1.epub").read_bytes() == expected
    conn = sqlite3.connect(_cache_dir() / DB_NAME)
    assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 400
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_size_is_bounded_least_recently_used_go_first(tmp_path):
    cache = RenderCache(tmp_path / "c", clock=time.time, max_bytes=300_000)

    def batch(tag: int, n: int) -> dict[bytes, tuple[str, str]]:
        return {bytes([tag, i]): ("q" * 10, "a" * 10_000) for i in range(n)}

    def age(tag: int, days: int) -> None:
        with sqlite3.connect(cache.path) as conn:
            conn.execute("UPDATE entries SET atime = atime - ? WHERE substr(key, 1, 1) = ?",
                         (days * 86400, bytes([tag])))

    cache.put_many(batch(1, 10))
    age(1, 2)
    assert len(cache.get_many(batch(1, 10))) == 10  # used again: their access time is refreshed...
    cache.put_many(batch(2, 15))
    age(2, 1)  # ...so these fifteen are now the least recently used
    assert cache.stats.evicted == 0
    cache.put_many(batch(3, 10))  # 350 kB > 300 kB: evict down to 90 %
    assert cache.total_bytes() <= 270_000 and cache.stats.evicted > 0
    assert len(cache.get_many(batch(1, 10))) == 10 and len(cache.get_many(batch(3, 10))) == 10
    assert len(cache.get_many(batch(2, 15))) == 15 - cache.stats.evicted
    cache.close()


def test_location_follows_xdg_and_the_override(monkeypatch, tmp_path, sample_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert default_folder() == tmp_path / "xdg" / "qaexport"
    monkeypatch.setenv("QAEXPORT_CACHE_DIR", str(tmp_path / "mine"))
    qaexport("epub", str(sample_path), "-o", str(tmp_path / "x.epub"))
    assert (tmp_path / "mine" / DB_NAME).exists()
    rows = sqlite3.connect(tmp_path / "mine" / DB_NAME).execute("SELECT count(*) FROM entries").fetchone()[0]
    assert rows == 34
    assert json.dumps(rows)  # a plain sqlite table anyone can inspect


def test_a_busy_database_is_left_alone(tmp_path):
    """Locked by another run past the timeout: render without the cache, never delete the other run's file."""
    cache = RenderCache(tmp_path / "c", clock=time.time, timeout=0.2)
    cache.put_many({b"k1": ("q", "a")})
    other = sqlite3.connect(cache.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another run is writing
    cache.put_many({b"k2": ("q2", "a2")})
    other.execute("ROLLBACK")
    other.close()
    assert cache.stats.disabled and not cache.stats.rebuilt
    cache.close()
    assert RenderCache(tmp_path / "c", clock=time.time).get_many([b"k1", b"k2"]) == {b"k1": ("q", "a")}


def test_the_cache_never_waits_for_the_disk(tmp_path):
    """No fsync, from the database's creation on (``synchronous=OFF`` before the switch to WAL): the syncs were
    ~35 ms of every cold build's critical path, for a store whose damage is a miss or a rebuild (module docstring).
    Read from a connection of the cache's own, after creating, writing and reopening it."""
    cache = RenderCache(tmp_path / "c", clock=time.time)
    cache.put_many({b"k": ("q", "a")})
    cache.close()
    again = RenderCache(tmp_path / "c", clock=time.time)
    assert again.get_many([b"k"]) == {b"k": ("q", "a")}
    conn = again._open()
    assert conn is not None
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 0  # OFF (NORMAL is 1, the default FULL 2)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_an_unusable_cache_folder_only_warns(tmp_path, sample_path, reference, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("QAEXPORT_CACHE_DIR", str(blocker))
    from qaexport.cli import app
    from tests.cli_run import runner

    result = runner.invoke(app, ["epub", str(sample_path), "-o", str(tmp_path / "b.epub")], env=EPOCH)
    assert result.exit_code == 0, result.output
    assert "warning: render cache not used" in result.output
    assert (tmp_path / "b.epub").read_bytes() == reference["epub"]


def test_html_content_is_keyed_by_the_media_it_may_show(tmp_path):
    """An Anki card's <img> survives only when the library holds that image: the cache must not mix the two."""
    from qaexport.model import ContentFormat, Framework, Library, Location, Media, Question, Subtopic, Topic

    name = "0123456789abcdef.png"
    q = Question("q1", None, f'Look: <img src="{name}">', "<b>answer</b>", "f/t/s/q1", Location("deck.apkg"),
                 ContentFormat.HTML)

    def library(with_image: bool) -> Library:
        media = {name: Media(name, b"\x89PNG", "image/png")} if with_image else {}
        sub = Subtopic("s", "S", questions=[q])
        return Library([Framework("f", "F", topics=[Topic("t", "T", subtopics=[sub])])], media)

    hl = render.Highlighter()
    cache = RenderCache(tmp_path / "c", clock=time.time)
    with_image = render.render_library(library(True), hl, [render.Scheme.COMPACT], cache=cache)
    without = render.render_library(library(False), hl, [render.Scheme.COMPACT], cache=cache)
    fresh = render.render_library(library(False), hl, [render.Scheme.COMPACT])
    assert name in with_image[render.Scheme.COMPACT]["f/t/s/q1"].question
    assert without == fresh and name not in without[render.Scheme.COMPACT]["f/t/s/q1"].question
    assert cache.stats.hits == 0 and cache.stats.stored == 2


def test_markdown_is_keyed_by_its_cloze_flag_and_the_media_its_images_show(tmp_path):
    """The same texts render differently as a cloze or not, and with each image reference showing one file, another
    or none (left out): each way is its own cache entry, equal to a fresh render. Which reference shows a file
    counts, not only which files are shown (one reference shown and the other left out, then the other way)."""
    from qaexport.model import Framework, Library, Location, Media, Question, Subtopic, Topic

    one, two = "0123456789abcdef.png", "fedcba9876543210.png"
    media = {name: Media(name, b"\x89PNG", "image/png") for name in (one, two)}

    def library(cloze: bool, shown: dict[str, str]) -> Library:
        q = Question("q1", None, "The {{c1::sun}} rises ![in the east](east.png) ![not west](west.png)", "Extra.",
                     "f/t/s/q1", Location("bank.md", 3), cloze=cloze, images=shown)
        sub = Subtopic("s", "S", questions=[q])
        return Library([Framework("f", "F", topics=[Topic("t", "T", subtopics=[sub])])], media)

    hl = render.Highlighter()
    cache = RenderCache(tmp_path / "c", clock=time.time)
    images = [{"east.png": one}, {"east.png": two}, {"west.png": one}, {"east.png": one, "west.png": two},
              {"east.png": two, "west.png": one}, {}]
    variants = [(cloze, shown) for cloze in (True, False) for shown in images]
    seen = set()
    for cloze, shown in variants:
        schemes = [render.Scheme.COMPACT, render.Scheme.PORTABLE]
        cached = render.render_library(library(cloze, shown), hl, schemes, cache=cache)
        fresh = render.render_library(library(cloze, shown), hl, schemes)
        assert cached == fresh, (cloze, shown)
        seen.add(fresh[render.Scheme.COMPACT]["f/t/s/q1"])
    assert len(seen) == len(variants) and cache.stats.hits == 0


@pytest.mark.parametrize("name", ["dialect.py", "cloze.py", "math.py", "html.py"])
def test_the_renderer_version_covers_each_syntax_module(monkeypatch, name):
    """The Markdown dialect, cloze and math syntax and the HTML sanitiser (in formats/) decide the HTML too: an
    edit to any of them is a new renderer."""
    from qaexport.render.cache import renderer_version

    read_bytes = Path.read_bytes

    def edited(path: Path) -> bytes:
        data = read_bytes(path)
        return data + b"\n# edited\n" if path.name == name and path.parent.name == "formats" else data

    renderer_version.cache_clear()
    before = renderer_version()
    monkeypatch.setattr(Path, "read_bytes", edited)
    renderer_version.cache_clear()
    try:
        assert renderer_version() != before
    finally:
        renderer_version.cache_clear()


@pytest.mark.parametrize("library", ["mdit-py-plugins", "latex2mathml", "ziamath", "ziafont"])
def test_the_renderer_version_covers_each_math_and_syntax_library(monkeypatch, library):
    """The math and syntax libraries' versions (from their installed metadata): another version may parse or draw
    differently."""
    import qaexport.render.cache as cache_module
    from qaexport.render.cache import renderer_version

    renderer_version.cache_clear()
    before = renderer_version()
    monkeypatch.setattr(cache_module, "version", partial(_another_release, cache_module.version, library))
    renderer_version.cache_clear()
    try:
        assert renderer_version() != before
    finally:
        renderer_version.cache_clear()


def test_an_empty_cache_is_not_looked_up_and_stores_the_entries_a_lookup_would(tmp_path, sample_library, monkeypatch):
    """A new cache finds nothing: the run makes its keys while the texts render instead of looking them up first
    (``RenderCache.finds_nothing``). It stores the same entries, under the same keys, as a run that looks them up
    (a cache that holds an unrelated entry), and the next run finds every one of them."""
    hl = render.Highlighter()
    schemes = [render.Scheme.COMPACT, render.Scheme.PORTABLE]

    def stored(cache: RenderCache) -> dict[bytes, tuple[bytes, bytes]]:
        with sqlite3.connect(cache.path) as conn:
            return {k: (q, a) for k, q, a in conn.execute("SELECT key, question, answer FROM entries")}

    empty = RenderCache(tmp_path / "empty", clock=time.time)
    looked_up: list[object] = []
    monkeypatch.setattr(empty, "get_many", lambda keys: looked_up.append(keys) or {})
    prepared: list[bool] = []
    first = render.render_library(sample_library, hl, schemes, cache=empty, meanwhile=lambda: prepared.append(True))
    empty.close()
    assert looked_up == [] and empty.stats.misses == len(stored(empty)) > 0
    assert prepared == [True]  # the exporters' meanwhile still runs, once

    held = RenderCache(tmp_path / "held", clock=time.time)
    held.put_many({b"unrelated": ("q", "a")})
    assert not held.finds_nothing()
    assert render.render_library(sample_library, hl, schemes, cache=held) == first
    held.close()
    assert stored(held) == {**stored(empty), b"unrelated": (b"q", b"a")}

    again = RenderCache(tmp_path / "empty", clock=time.time)
    assert render.render_library(sample_library, hl, schemes, cache=again) == first
    assert again.stats.misses == 0 and again.stats.hits == len(stored(empty))
