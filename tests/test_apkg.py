"""Anki packages as a source: real packages built with the official ``anki`` package, in every format it writes."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from qaexport.errors import InputError
from qaexport.formats.anki_archive import INSTALL_HINT
from qaexport.formats.html import code_blocks, sanitize
from qaexport.sources.apkg import (
    ApkgOptions,
    ApkgReader,
    deck_levels,
    difficulty_from_tags,
    question_id,
    read_package,
    safe_media_name,
)
from tests.apkg_bad import bad_packages, legacy_one
from tests.apkg_decks import build_hostile, build_packages

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("legacy", "current", "colpkg", "legacy-colpkg", "legacy-1")


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("apkg")
    out = build_packages(folder)
    out["legacy-1"] = legacy_one(out["legacy"], folder / "anki20.apkg")
    return out


@pytest.fixture(scope="module")
def results(packages):
    return {name: read_package(path) for name, path in packages.items()}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    return build_packages(tmp_path_factory.mktemp("hostile"), build_hostile)["current"]


@pytest.fixture(scope="module")
def bad(tmp_path_factory, packages) -> dict[str, Path]:
    return bad_packages(tmp_path_factory.mktemp("bad"), packages["legacy"], packages["current"])


def _flat(result) -> list[tuple[str, str, str, str, object, str, str]]:
    return [(s.framework.name, s.topic.name, s.subtopic.name, q.id, q.difficulty, q.question, q.answer)
            for s in result.subtopics for q in s.questions]


def test_every_package_format_reads_the_same(results):
    reference = _flat(results["current"])
    assert len(reference) == 5  # 2 basic + reversed (first card) + a cloze note (both deletions) + type-in
    for name in FORMATS:
        assert _flat(results[name]) == reference, name
        assert results[name].warnings == []
        assert [m.mime for m in results[name].media.values()] == ["image/png"]


def test_placeholder_collection_of_current_packages_is_never_read(packages, tmp_path):
    with zipfile.ZipFile(packages["current"]) as src, zipfile.ZipFile(tmp_path / "p.apkg", "w") as dst:
        for info in src.infolist():
            dst.writestr(info, b"not a database" if info.filename == "collection.anki2" else src.read(info))
    assert _flat(read_package(tmp_path / "p.apkg")) == _flat(read_package(packages["current"]))


def test_a_cloze_note_is_one_question_with_its_deletions_and_its_extra(results):
    """Read whole, as a Markdown bank's cloze: its text with Anki's own deletions (the renderer blanks and fills
    them), Back Extra as the answer, one id for the note."""
    (cloze,) = [q for s in results["current"].subtopics for q in s.questions if "DNA is made of" in q.question]
    assert cloze.cloze and cloze.question == ("DNA is made of {{c1::nucleotides::building blocks}} joined by "
                                              "{{c2::phosphodiester}} bonds.")
    assert cloze.answer == "Watson and Crick 1953"
    assert cloze.id.endswith("-1")


def test_convert_writes_a_cloze_note_back_with_its_deletions_and_anki_makes_its_cards_again(packages, tmp_path):
    from tests.anki_collection import import_deck, new_collection

    qaexport("convert", str(packages["current"]), "-o", str(tmp_path / "bank"))
    text = (tmp_path / "bank" / "01-biology" / "02-genetics" / "01-genetics.md").read_text(encoding="utf-8")
    assert re.search(r"^## DNA is made of \{\{c1::nucleotides::building blocks\}\} joined by "
                     r"\{\{c2::phosphodiester\}\} bonds\. \{#[0-9a-f]{16}-1 \.medium format=html\}\n\n"
                     r"Watson and Crick 1953\n", text, re.M), text
    qaexport("convert", str(tmp_path / "bank"), "-o", str(tmp_path / "again"))
    assert sorted((p.relative_to(tmp_path / "again").as_posix(), p.read_bytes())
                  for p in (tmp_path / "again").rglob("*.md")) == sorted(
        (p.relative_to(tmp_path / "bank").as_posix(), p.read_bytes()) for p in (tmp_path / "bank").rglob("*.md"))
    qaexport("anki", str(tmp_path / "bank"), "-o", str(tmp_path / "deck.apkg"))
    with new_collection(tmp_path / "col") as col:
        import_deck(col, tmp_path / "deck.apkg")
        (nid,) = col.find_notes('"Text:DNA is made of*"')
        cards = sorted(col.get_note(nid).cards(), key=lambda c: c.ord)
        assert [c.ord for c in cards] == [0, 1]
        assert "[building blocks]" in cards[0].question() and "nucleotides" in cards[0].answer()


def test_answers_drop_the_repeated_front(results):
    qa = {q.question: q.answer for s in results["current"].subtopics for q in s.questions}
    assert qa["What is the powerhouse of the cell?"] == "The mitochondrion"
    assert "powerhouse" not in qa["What is the powerhouse of the cell?"]


def test_reversed_card_only_with_all_cards(packages):
    first_only = [q.question for s in read_package(packages["current"]).subtopics for q in s.questions]
    every_card = ApkgReader(ApkgOptions(all_cards=True)).read(packages["current"])
    every = [q.question for s in every_card.subtopics for q in s.questions]
    assert "Site of protein synthesis" not in first_only
    assert "Site of protein synthesis" in every
    assert len(every) == len(first_only) + 1


def test_all_cards_from_the_command_line_and_the_config_file(packages, tmp_path):
    from typer.testing import CliRunner

    from qaexport.cli import app

    runner = CliRunner()

    def keys(*args: str) -> list[str]:
        result = runner.invoke(app, ["list", str(packages["current"]), "--keys", *args])
        assert result.exit_code == 0, result.output
        return result.output.split()

    first, every = keys(), keys("--all-cards")
    assert len(every) == len(first) + 1 and set(first) < set(every)
    config = tmp_path / "q.toml"
    config.write_text("[apkg]\nall_cards = true\n")
    assert keys("--config", str(config)) == every
    assert keys("--config", str(config), "--no-all-cards") == first  # a flag beats the file


def test_type_in_front_is_a_blank_and_back_is_the_expected_answer(results):
    q = next(q for s in results["current"].subtopics for q in s.questions if "sodium" in q.question)
    assert "[[type:" not in q.question and "____" in q.question
    assert re.sub(r"<[^>]+>", "", q.answer).strip() == "Na"


def test_image_by_content_and_sound_as_label(results):
    result = results["current"]
    q = next(q for s in result.subtopics for q in s.questions if "diagram" in q.question)
    (name,) = result.media
    assert re.fullmatch(r"[0-9a-f]{16}\.png", name) and f'src="{name}"' in q.question
    assert result.media[name].data.startswith(b"\x89PNG")
    assert "[♪ audio: hello.mp3]" in q.question and "[sound:" not in q.question and "anki:play" not in q.question


def test_deck_tree_mapping_never_repeats_a_printed_level():
    assert deck_levels("Chemistry") == (("Chemistry", "Chemistry"),) * 3
    assert deck_levels("A::B") == (("A", "A"), ("B", "A::B"), ("B", "A::B"))
    assert deck_levels("A::B::C") == (("A", "A"), ("B", "A::B"), ("C", "A::B::C"))
    assert deck_levels("A::B::C::D") == (("A", "A"), ("B", "A::B"), ("C › D", "A::B::C::D"))


def test_decks_and_descriptions_become_the_tree(results):
    subs = results["current"].subtopics
    assert [(s.framework.name, s.topic.name, s.subtopic.name) for s in subs] == [
        ("Biology", "Cells", "Organelles"), ("Biology", "Genetics", "Genetics"), ("Chemistry",) * 3]
    assert subs[0].framework.description == "The study of living things"
    assert subs[1].topic.description == "Heredity and DNA"  # HTML reduced to text
    assert subs[1].subtopic.description == ""  # the same deck is described once
    assert all(s.difficulty_optional for s in subs)


def test_difficulty_follows_tags(results):
    assert difficulty_from_tags(["difficulty::Hard"]) == "hard"
    assert difficulty_from_tags(["leech", "easy"]) == "easy"
    assert difficulty_from_tags(["difficulty::expert", "harder"]) is None
    by_text = {q.question[:20]: q.difficulty for s in results["current"].subtopics for q in s.questions}
    assert by_text["What is the powerhou"] == "easy" and by_text["Ribosome"] == "hard"
    assert by_text["Look at this diagram"] is None


def test_ids_come_from_note_guid_and_ordinal(results):
    ids = [q.id for s in results["current"].subtopics for q in s.questions]
    assert len(set(ids)) == len(ids)
    assert question_id("aB", 0) != question_id("ab", 0)  # GUIDs are case-sensitive; ids must stay apart
    assert all(re.fullmatch(r"[0-9a-f]{16}-\d+", i) for i in ids)


def test_media_names_must_be_plain():
    for bad_name in ("../x.png", "a/b.png", "a\\b.png", "/etc/passwd", "C:x.png", "..", "", "x\0.png"):
        assert not safe_media_name(bad_name), bad_name
    assert safe_media_name("my image (1).png") and safe_media_name("..hidden.png") is False


BAD_NAMES = ("not-a-zip", "empty", "truncated", "no-collection", "corrupt-db", "not-sqlite", "corrupt-zstd",
             "media-escape", "media-absolute", "bomb-declared", "bomb-zstd", "bomb-lying")


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_packages_are_refused_with_one_line(bad, name):
    with pytest.raises(InputError) as info:
        read_package(bad[name])
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(bad[name]))
    if name.startswith("bomb-") and name != "bomb-lying":
        assert "zip bomb" in message


@pytest.mark.slow
def test_bad_packages_refused_in_bounded_memory(bad):
    """All of them in one fresh process: its peak memory (and the wait for it bounded)."""
    script = textwrap.dedent(f"""
        import resource, sys
        from pathlib import Path
        from qaexport.errors import InputError
        from qaexport.sources.apkg import read_package
        for p in {[str(p) for p in bad.values()]!r}:
            try:
                read_package(Path(p))
                sys.exit("not refused: " + p)
            except InputError:
                pass
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    peak_mib = proc.stdout.strip()
    assert int(peak_mib) < 500, proc.stdout  # how fast is the benchmark's to say; here the wait is bounded


def test_without_the_extra_one_line_says_how_to_install(packages):
    script = ("import sys; sys.modules['anki'] = None; sys.modules['anki.collection'] = None\n"
              "from pathlib import Path\nfrom qaexport.sources.apkg import read_package\n"
              f"read_package(Path({str(packages['current'])!r}))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "pip install 'qaexport[apkg]'" in proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(("limit", "value", "says"), [
    ("MAX_MEMBERS", 2, "files (limit 2)"),
    ("MAX_MEMBER", 1000, "declares"),
    ("MAX_DECLARED_TOTAL", 1000, "declares"),
    ("MAX_MEDIA_MAP", 4, "'media' inflates beyond 0.1 MiB"),
])
def test_each_zip_limit_refuses_a_real_package_past_it(packages, monkeypatch, limit, value, says):
    """The same package, read within every limit, refused once one of them is below it: each check is there."""
    from qaexport.formats import anki_archive

    assert read_package(packages["current"]).subtopics
    monkeypatch.setattr(anki_archive, limit, value)
    with pytest.raises(InputError, match=re.escape(says)):
        read_package(packages["current"])


def test_a_member_that_inflates_past_the_ratio_is_refused_before_it_is_read(packages, tmp_path, monkeypatch):
    """A real package with one more member, 2 MiB that deflate about 200-fold (a real ratio, below the limit):
    refused by its ratio as soon as the zip is opened once the limit is lower, though no note names the member."""
    from qaexport.formats import anki_archive

    package = tmp_path / "zeros.apkg"
    with zipfile.ZipFile(packages["current"]) as src, zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("zeros", random.Random(1).randbytes(8 << 10) + bytes(2 << 20))
    assert read_package(package).subtopics  # within the real ratio (1,000)
    monkeypatch.setattr(anki_archive, "MAX_RATIO", 100)
    with pytest.raises(InputError, match=r"'zeros' inflates [0-9]+-fold"):
        read_package(package)


def test_the_install_hint_reaches_the_terminal_as_written(packages):
    """Through the command line: the console prints ``[apkg]`` as written, never as markup it swallows."""
    script = ("import sys; sys.modules['anki'] = None; sys.modules['anki.collection'] = None\n"
              f"from qaexport.cli import main\nsys.argv = ['qaexport', 'list', {str(packages['current'])!r}]\nmain()")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"error: {packages['current']}: {INSTALL_HINT}"]
    assert "pip install 'qaexport[apkg]'" in INSTALL_HINT


def test_hostile_deck_is_inert_after_sanitising(hostile):
    result = read_package(hostile)
    media = set(result.media)
    # good.png, and the SVG (also the one posing as .png: the bytes decide) rebuilt by formats.images without its
    # onload and its file: image; the file: paths are refused.
    assert sorted(m.rsplit(".", 1)[1] for m in media) == ["png", "svg"]
    (svg,) = [m for m in result.media.values() if m.mime == "image/svg+xml"]
    assert b"onload" not in svg.data and b"passwd" not in svg.data and b"<image" not in svg.data
    assert {w.message.split(":")[0] for w in result.warnings} >= {"image '../../../etc/passwd' skipped"}
    (q,) = [q for s in result.subtopics for q in s.questions]
    for text in (sanitize(q.question, media), sanitize(q.answer, media)):
        low = text.lower()
        for needle in ("<script", "onerror", "onclick", "onload", "javascript:", "file:", "url(", "<style",
                       "<iframe", "<svg", "<object", "<form", "<input", "pwned", "style="):
            assert needle not in low, (needle, text)
    assert "Hostile front" in q.question and "hostile back" in q.answer


def test_what_convert_writes_of_a_hostile_deck_is_inert(hostile, tmp_path):
    """The reader's own canonicalisation is a sanitiser too: `convert` writes the HTML it gives into the bank's
    Markdown as it is, where any Markdown viewer would show it, so nothing live may pass it."""
    from tests.cli_run import qaexport

    qaexport("convert", str(hostile), "-o", str(tmp_path / "bank"))
    text = "\n".join(p.read_text(encoding="utf-8") for p in (tmp_path / "bank").rglob("*.md"))
    assert "Hostile front" in text and "hostile back" in text
    tags = [tag.lower() for tag in re.findall(r"<[a-zA-Z][^>]*>", text)]
    for tag in tags:
        assert not re.search(r"\son[a-z]+\s*=|\sstyle\s*=|javascript:|file:|data:|url\(", tag), tag
        assert not re.match(r"<(script|style|iframe|svg|object|embed|form|input|math|link|meta)\b", tag), tag
    images = [src for src in re.findall(r'<img src="([^"]*)"', text) if src]  # refused ones lost their src
    assert images and all(re.fullmatch(r"[0-9a-f]{16}\.(png|svg)", src) for src in images)  # library media only
    for name in set(images):  # and what the bank keeps of them is inert too (an SVG is sanitised)
        data = next((tmp_path / "bank").rglob(name)).read_bytes().lower()
        assert b"onload" not in data and b"<script" not in data and b"file:" not in data, name


def test_sanitize_allow_list():
    media = {"0123456789abcdef.png"}
    dirty = ('<p onmouseover="x()">a<script>b</script><img src="0123456789abcdef.png" onerror="x()">'
             '<img src="https://evil.test/t.png" alt="tracker"><a href="JaVaScRiPt:x">j</a>'
             '<a href="mailto:a@b.c">m</a><span class="cloze hidden" style="color:red">c</span>&nbsp;<br>'
             '<font color=red>f</font><embed src=x><math><mi>x</mi></math></p>'
             '<div style="background:url(file:///etc/passwd)" onclick="x()">d</div>')
    clean = sanitize(dirty, media)
    assert clean == ('<p>a<img src="0123456789abcdef.png" alt="" />[tracker]<a>j</a>'
                     '<a href="mailto:a@b.c">m</a><span class="cloze">c</span>&#160;<br />'
                     'f</p><div>d</div>')


def test_code_blocks_are_found_for_highlighting():
    clean = sanitize('<pre><code class="language-python">if a &lt; b:<br>    pass</code></pre><p>x</p>', set())
    (block,) = list(code_blocks(clean))
    assert (block.language, block.code) == ("python", "if a < b:\n    pass")
    assert clean[block.start:block.end].startswith("<pre>")


def test_media_map_json_is_checked(packages, tmp_path):
    with zipfile.ZipFile(packages["legacy"]) as src, zipfile.ZipFile(tmp_path / "p.apkg", "w") as dst:
        for info in src.infolist():
            dst.writestr(info, json.dumps([1, 2]) if info.filename == "media" else src.read(info))
    with pytest.raises(InputError, match="media map"):
        read_package(tmp_path / "p.apkg")


# --- end to end: the real CLI writes PDF and EPUB from packages -------------------------------------------------

from pypdf import PdfReader  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from qaexport.cli import app  # noqa: E402
from tests.cli_run import qaexport  # noqa: E402
from tests.tools import run_epubcheck  # noqa: E402

NOTE_TEXTS = ("What is the powerhouse of the cell?", "The mitochondrion", "Ribosome", "Site of protein synthesis",
              "DNA is made of", "Watson and Crick 1953", "Chemical symbol of sodium?", "Look at this diagram",
              "It shows a red square", "[♪ audio: hello.mp3]", "The study of living things", "Heredity and DNA")


def _norm(text: str) -> str:
    return " ".join(text.replace("\u00ad", "").replace("\x00", "").split())


def _pdf_text(path: Path) -> str:
    return _norm(" ".join(p.extract_text() or "" for p in PdfReader(path).pages))


def _pdf_images(path: Path) -> list[tuple[int, int]]:
    """(width, height) of every image XObject the PDF holds (each one once)."""
    seen: dict[int, tuple[int, int]] = {}
    for page in PdfReader(path).pages:
        xobjects = page.get("/Resources", {}).get("/XObject", {}) or {}
        for ref in xobjects.values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                seen[ref.idnum] = (int(obj["/Width"]), int(obj["/Height"]))
    return list(seen.values())


def _epub_texts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _outline(path: Path) -> list[tuple[int, str]]:
    flat: list[tuple[int, str]] = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                flat.append((depth, item.title))

    walk(PdfReader(path).outline, 1)
    return flat


@pytest.fixture(scope="module")
def books(packages, hostile, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("books")
    made = {}
    for fmt in ("legacy", "current"):
        for kind in ("pdf", "epub"):
            made[f"{fmt}.{kind}"] = out / f"{fmt}.{kind}"
            qaexport(kind, str(packages[fmt]), "-o", str(made[f"{fmt}.{kind}"]))
    made["hard.pdf"] = out / "hard.pdf"
    qaexport("pdf", str(packages["current"]), "-d", "hard", "-o", str(made["hard.pdf"]))
    for kind in ("pdf", "epub"):
        made[f"hostile.{kind}"] = out / f"hostile.{kind}"
        qaexport(kind, str(hostile), "-o", str(made[f"hostile.{kind}"]))
    return made


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["legacy", "current"])
def test_pdf_holds_every_note_cloze_fronts_image_and_sound_label(books, fmt):
    text = _pdf_text(books[f"{fmt}.pdf"])
    for phrase in NOTE_TEXTS:
        assert phrase in text, phrase
    assert "DNA is made of [building blocks] joined by […] bonds." in text  # the question: both blanked
    assert "DNA is made of nucleotides joined by phosphodiester bonds." in text  # the answer: filled
    assert "[sound:" not in text and "{{c1::" not in text and "[[type:" not in text
    assert _pdf_images(books[f"{fmt}.pdf"]) == [(8, 8)]  # the deck's one PNG, embedded


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["legacy", "current"])
def test_pdf_outline_is_the_deck_tree(books, fmt):
    assert _outline(books[f"{fmt}.pdf"]) == [
        (1, "Biology"), (2, "Cells"), (3, "Organelles"), (2, "Genetics"), (1, "Chemistry")]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["legacy", "current"])
def test_epub_holds_every_note_and_the_image_and_passes_epubcheck(books, fmt):
    files = _epub_texts(books[f"{fmt}.epub"])
    chapters = b" ".join(v for k, v in files.items() if k.endswith(".xhtml") and "nav" not in k).decode()
    for phrase in NOTE_TEXTS:
        assert html_unescape(phrase) in html_unescape(re.sub(r"<[^>]+>", "", chapters)), phrase
    images = [k for k in files if k.endswith(".png")]
    assert len(images) == 1 and files[images[0]].startswith(b"\x89PNG")
    name = images[0].rsplit("/", 1)[-1]
    chemistry = next(k for k in files if k.endswith("chemistry-chemistry-chemistry.xhtml"))
    assert f'src="{name}"'.encode() in files[chemistry]
    opf = files[next(k for k in files if k.endswith(".opf"))].decode()
    assert re.search(rf'href="{re.escape(name)}"[^>]*media-type="image/png"|media-type="image/png"[^>]*href="{name}"',
                     opf)
    if fmt == "current":  # the same book from either format: one EPUBCheck run is enough
        counts, report = run_epubcheck(books[f"{fmt}.epub"])
        assert counts == dict.fromkeys(counts, 0), report


def html_unescape(text: str) -> str:
    import html

    return " ".join(html.unescape(text).split())


@pytest.mark.slow
def test_difficulty_filter_follows_tags(books):
    text = _pdf_text(books["hard.pdf"])
    assert "Ribosome" in text and "Chemical symbol of sodium?" in text
    for absent in ("powerhouse", "DNA is made of", "Look at this diagram"):  # easy, medium, and no difficulty
        assert absent not in text


@pytest.mark.slow
def test_hostile_deck_is_inert_in_pdf_and_epub(books):
    assert _pdf_images(books["hostile.pdf"]) == [(4, 4)]  # good.png (the sanitised SVG is drawn, no file: image)
    pdf_text = _pdf_text(books["hostile.pdf"])
    assert "Hostile front" in pdf_text and "hostile back" in pdf_text and "pwned" not in pdf_text
    files = _epub_texts(books["hostile.epub"])
    for name, data in files.items():
        if name.endswith((".xhtml", ".opf", ".ncx")):
            low = data.decode().lower()
            for needle in ("<script", "onerror", "onclick", "onload", "javascript:", "file:", "<iframe",
                           "<svg", "<object", "<form", "pwned", "passwd"):
                assert needle not in low, (name, needle)
    own = {"EPUB/cover.svg", "EPUB/wrap-mark.svg"}  # the book's generated cover and code wrap mark
    for name in (n for n in files if n.endswith(".svg") and n not in own):  # the deck's SVG, rebuilt inert
        assert b"onload" not in files[name] and b"passwd" not in files[name] and b"<image" not in files[name]
    assert b"url(file" not in files[next(k for k in files if k.endswith(".css"))]
    counts, report = run_epubcheck(books["hostile.epub"])
    assert counts == dict.fromkeys(counts, 0), report


def test_anki_exporter_refuses_a_package_source(packages, tmp_path):
    result = CliRunner().invoke(app, ["anki", str(packages["current"]), "-o", str(tmp_path / "x.apkg")])
    assert result.exit_code == 2
    assert "already an Anki package" in result.output and not (tmp_path / "x.apkg").exists()


def test_all_on_a_package_skips_the_anki_exporter_with_its_reason(packages, tmp_path):
    result = CliRunner().invoke(app, ["all", str(packages["current"]), "-o", f"{tmp_path}/"])
    assert result.exit_code == 0, result.output
    assert "warning: skipping anki: " in result.output and "already an Anki package" in result.output
    suffixes = {p.suffix for p in tmp_path.iterdir()}
    assert {".epub", ".pdf"} <= suffixes and ".apkg" not in suffixes


@pytest.mark.parametrize("name", ["not-a-zip", "truncated", "media-escape", "bomb-zstd"])
def test_cli_refuses_bad_packages_writing_nothing(bad, name, tmp_path):
    target = tmp_path / "out.pdf"
    result = CliRunner().invoke(app, ["pdf", str(bad[name]), "-o", str(target)])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and not target.exists()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad[name]}"), result.output


def test_pdf_fetcher_serves_only_library_media_by_exact_name(tmp_path):
    from qaexport.model import Media
    from qaexport.weasy.layout import MEDIA_BASE, write_pdf
    from tests.apkg_decks import png_bytes

    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes(3, 3))
    name = "0123456789abcdef.png"
    media = {name: Media(name, png_bytes(5, 5), "image/png")}
    asks = [name, f"file://{secret}", f"{MEDIA_BASE}other.png", f"{MEDIA_BASE}{name}?x",
            "/etc/passwd", f"https://example.com/{name}"]
    html = "<p>x</p>" + "".join(f'<img src="{src}" style="width:20px">' for src in asks)
    write_pdf(html, "", "0" * 32, tmp_path / "out.pdf", lambda _step: None, media)
    assert _pdf_images(tmp_path / "out.pdf") == [(5, 5)]


@pytest.mark.slow
def test_the_cover_counts_cards_without_a_difficulty(books, results):
    from pypdf import PdfReader

    questions = [q for s in results["current"].subtopics for q in s.questions]
    unrated = sum(1 for q in questions if q.difficulty is None)
    assert unrated
    cover = _norm(PdfReader(books["current.pdf"]).pages[0].extract_text())
    assert f"unrated {unrated}" in cover.lower() and f"total {len(questions)}" in cover.lower(), cover


def test_a_packages_mathjax_prints_typeset_stays_live_in_anki_and_convert_keeps_it_as_bank_math(tmp_path):
    """MathJax in someone's deck: the books typeset it, a deck made again keeps it live, and convert writes it as
    the bank's \\(…\\)/\\[…\\] math (one of the bank's four delimiters), read back as formulas."""
    from tests.anki_collection import import_deck, new_collection
    from tests.apkg_decks import add
    from tests.test_anki_safety import mathjax_view

    def fill(col) -> None:
        add(col, "Basic", "Maths", {"Front": r"What is \(\frac{1}{2} + \frac{1}{2}\)?",
                                    "Back": r"One: \[\sqrt{1}\] and <code>\(not math\)</code>"})

    package = build_packages(tmp_path / "p", fill)["current"]
    qaexport("convert", str(package), "-o", str(tmp_path / "bank"))
    (text,) = [p.read_text(encoding="utf-8") for p in (tmp_path / "bank").rglob("*.md")]
    assert r"## What is \(\frac{1}{2} + \frac{1}{2}\)? {#" in text and r"One: \[\sqrt{1}\]" in text
    qaexport("pdf", str(tmp_path / "bank"), "-o", str(tmp_path / "b.pdf"))
    printed = _pdf_text(tmp_path / "b.pdf")
    assert "What is" in printed and "\\frac" not in printed and "\\sqrt" not in printed
    assert "\\(not math\\)" in printed  # code stays code
    qaexport("anki", str(tmp_path / "bank"), "-o", str(tmp_path / "deck.apkg"))
    with new_collection(tmp_path / "col") as col:
        import_deck(col, tmp_path / "deck.apkg")
        (nid,) = col.find_notes("")
        card = col.get_note(nid).cards()[0]
        live = [s for s in mathjax_view(card.answer()).strings if "\\(" in s or "\\[" in s]
        assert live == [r"\(\frac{1}{2} + \frac{1}{2}\)", r"\[\sqrt{1}\]"]


def test_a_command_that_reads_no_package_never_loads_the_package_reading(tmp_path, sample_path):
    """The command line loads every reader for its options' flags; the Anki package reader's reading
    (``sources.apkg_reading``: nh3, the package and archive formats, the Markdown bank format; ~12 ms of CPU in
    series at every command's start) loads only when a package is read. An EPUB of a Nuxt payload reads none."""
    code = ("import sys\nsys.argv = ['qaexport', *sys.argv[1:]]\nfrom qaexport.launch import main\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print(sorted(m for m in sys.modules if m.startswith('qaexport.sources.apkg')))")
    result = subprocess.run([sys.executable, "-c", code, "epub", str(sample_path), "-o", str(tmp_path / "b.epub"),
                             "--no-cache"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "['qaexport.sources.apkg']", result.stdout
    assert (tmp_path / "b.epub").is_file()
