"""Every limit holds at its own value: input just over it is refused (or left out) with its one line, input at it
passes. The inputs are sized from the limits' real values written out below, never from the constants and never a
smaller stand-in: a limit loosened in the code (a ×1000, a removed check) lets the input through and the test fails
at once. Input sized from a constant would follow a loosened one to gigabytes (``tests/mutants.py`` loosens each
limit a thousandfold: such tests took 16-24 GiB and were killed), so memory and disk here stay bounded whatever the
code says."""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import pytest
import zstandard

from qaexport import limits, sources
from qaexport.errors import InputError
from qaexport.formats import anki_archive, anki_package, markdown_bank
from qaexport.sources import apkg, devalue, nuxt
from qaexport.sources import markdown as markdown_source
from tests.apkg_bad import _patch_declared_size
from tests.apkg_decks import build_packages
from tests.payloads import page, question, subtopic, write

FRONT = "---\nframework: F\ntopic: T\nsubtopic: S\n---\n"
MiB = 2**20
# The real values (the constant each one is, named for test_every_limit_constant_is_tested_here).
QUESTION_CHARS = 5_000  # limits.MAX_QUESTION_CHARS
ANSWER_CHARS = 200_000  # limits.MAX_ANSWER_CHARS
FRONT_MATTER_BYTES = 64 * 1024  # markdown_bank.MAX_FRONT_MATTER_BYTES
FILE_BYTES = 32 * MiB  # the readers' MAX_BYTES
MEMBER = 512 * MiB  # anki_archive.MAX_MEMBER
DECLARED_TOTAL = 4 * 2**30  # anki_archive.MAX_DECLARED_TOTAL
MEMBERS = 200_000  # anki_archive.MAX_MEMBERS
COLLECTION = 256 * MiB  # anki_archive.MAX_COLLECTION
ZSTD_WINDOW = 2**26  # anki_archive.MAX_ZSTD_WINDOW
IMAGE = 16 * MiB  # images.MAX_IMAGE_BYTES
IMAGES_TOTAL = 192 * MiB  # images.MAX_IMAGES_TOTAL
MEDIA_MAP = 16 * MiB  # anki_archive.MAX_MEDIA_MAP
LEDGER_ROWS = 200_000  # ledger.MAX_ROWS
ID_CHARS = 120  # model.MAX_ID_CHARS
DEPTH = 100  # devalue.MAX_DEPTH
RATIO = 1_000  # anki_archive.MAX_RATIO


def _bank(path: Path, body: str, front: str = FRONT) -> Path:
    path.write_text(front + body, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    _, problems, _ = sources.read_all(sources.expand([path]))
    return [p.message for p in problems]


# ---------------------------------------------------------------------------------------------- texts


@pytest.mark.parametrize(("what", "limit"), [("question", QUESTION_CHARS), ("answer", ANSWER_CHARS)])
def test_texts_longer_than_their_limit_are_refused(tmp_path, what, limit):
    for size, refused in ((limit, False), (limit + 1, True)):
        text = "x" * size
        path = write(tmp_path / f"{what}-{size}.json", page([subtopic("s", "S", [
            question("q", q=text if what == "question" else None, a=text if what == "answer" else None)])]))
        problems = _problems(path)
        assert bool(problems) is refused, (size, problems)
        if refused:
            assert f"is {size:,} characters, over the {limit:,} limit" in problems[0]


def test_html_nested_deeper_than_its_limit_is_refused(tmp_path):
    """``limits.MAX_HTML_NESTING`` (100) at its value: an HTML answer nested 100 elements deep is read, 101 is a
    problem at its question's line."""
    for depth, refused in ((100, False), (101, True)):
        path = _bank(tmp_path / f"nested-{depth}.md", "\n## Deep? {#d .easy format=html}\n\n" + "<div>" * depth + "x\n")
        problems = _problems(path)
        assert bool(problems) is refused, (depth, problems)
        if refused:
            assert "is HTML nested over 100 elements deep" in problems[0], problems


def _nested_lists(depth: int) -> str:
    return "".join("  " * level + f"- item {level}\n" for level in range(depth)) + "\nAfter the list.\n"


def test_markdown_nested_past_markdown_its_limit_is_an_error_at_its_line(tmp_path):
    """``dialect.MAX_NESTING`` (markdown-it's 20 levels): 9 lists or 19 ``>`` one inside another are read whole (every
    item in the output); one more, and markdown-it drops the rest of the text, so it is an error at the line of the
    first block lost, in the Markdown reader (validate and every export), and in a Nuxt payload's record."""
    from markdown_it import MarkdownIt

    from qaexport.formats.dialect import MAX_NESTING
    from qaexport.render.highlight import Highlighter
    from qaexport.render.markdown import MarkdownRenderer, safe_markdown_it

    renderer = MarkdownRenderer(Highlighter())
    assert MAX_NESTING == safe_markdown_it().options.maxNesting == MarkdownIt("commonmark").options.maxNesting == 20
    head = "\n## Deep? {#d .easy}\n\n"  # the answer starts at line 9
    cases = (("lists-9", _nested_lists(9), None), ("lists-10", _nested_lists(10), 18),
             ("quotes-19", "> " * 19 + "deep\n\nAfter.\n", None), ("quotes-20", "> " * 20 + "deep\n\nAfter.\n", 9),
             ("tabs", "".join("\t" * level + f"- item {level}\n" for level in range(10)) + "\nAfter.\n", 18),
             ("mixed-19", "> - " * 6 + "> deep\n\nAfter.\n", None),
             ("mixed-20", "> - " * 6 + "> > deep\n\nAfter.\n", 9))
    for name, body, line in cases:
        path = _bank(tmp_path / f"{name}.md", head + body + "\n## Next? {#e .easy}\n\nNext answer.\n")
        library, problems, _ = sources.read_all(sources.expand([path]))
        said = [str(p) for p in problems]
        if line is None:
            assert said == [], (name, said)
            answer = library.frameworks[0].topics[0].subtopics[0].questions[0].answer
            assert [q.id for q in library.frameworks[0].topics[0].subtopics[0].questions] == ["d", "e"]
            html = next(iter(renderer.render(answer).values()))
            assert "After" in html and ("item 8" in html or "deep" in html), (name, html)
        else:
            assert len(said) == 1 and said[0].startswith(f"{path}:{line}: "), (name, said)
            assert "nested too deeply" in said[0] and "nest them less deeply" in said[0], said
    path = write(tmp_path / "deep.json", page([subtopic("s", "S", [question("q", a=_nested_lists(10))])]))
    said = _problems(path)
    assert len(said) == 1 and "answer (a): lists or block quotes nested too deeply" in said[0], said


def test_expansion_is_bounded_by_its_ratio_and_floor():
    """``limits.EXPANSION_RATIO`` (8) and ``EXPANSION_FLOOR`` (32 Mi characters): a decoder's count of what it made,
    checked against both (counts only: nothing of that size is built)."""
    small = limits.Expansion(1024)  # a small input: the floor rules
    small.check(32 * 2**20, "x")
    with pytest.raises(limits.ExpansionError, match=f"more than {32 * 2**20:,} characters"):
        small.check(32 * 2**20 + 1, "x")
    big = limits.Expansion(10 * 2**20)  # a big input: 8 times it rules
    big.check(80 * 2**20, "y")
    with pytest.raises(limits.ExpansionError, match="over 8 times the input's size"):
        big.check(80 * 2**20 + 1, "y")


def test_a_formula_over_its_limits_prints_as_code_with_a_warning(tmp_path):
    """``formats.math.MAX_TEX_CHARS`` (4,000) and ``MAX_TEX_DEPTH`` (50): typeset at the limit, refused past it
    (the converter recurses per brace and its time grows with the length), with a warning at the formula's line."""
    from qaexport.formats.math import MathError, mathml

    assert mathml("1" * 4_000, display=True).startswith("<math")
    with pytest.raises(MathError, match="4,001 characters, over the 4,000 limit"):
        mathml("1" * 4_001, display=True)
    assert mathml("{" * 50 + "x" + "}" * 50, display=False).startswith("<math")
    with pytest.raises(MathError, match="braces nest deeper than 50 levels"):
        mathml("{" * 51 + "x" + "}" * 51, display=False)
    path = _bank(tmp_path / "math.md", "\n## Sum? {#s .easy}\n\n$$\n" + "1" * 4_001 + "\n$$\n")
    _, problems, warnings = sources.read_all(sources.expand([path]))
    assert problems == []
    said = [str(w) for w in warnings if "cannot be typeset" in w.message]
    assert len(said) == 1 and f"{path}:" in said[0] and "over the 4,000 limit" in said[0], said
    assert "\n" not in said[0] and "Fix the TeX" in said[0]


def test_ids_longer_than_their_limit_are_refused(tmp_path):
    for size, refused in ((ID_CHARS, False), (ID_CHARS + 1, True)):
        path = _bank(tmp_path / f"id-{size}.md", f"\n## Q {{#{'a' * size} .easy}}\n\nA.\n")
        problems = _problems(path)
        assert bool(problems) is refused, (size, problems)


def test_front_matter_over_its_limit_is_refused(tmp_path):
    limit = FRONT_MATTER_BYTES
    for extra, refused in ((0, False), (1, True)):
        places = "framework: F\ntopic: T\nsubtopic: S\n"
        source = places + "#" * (limit + extra - len(places))  # what the reader measures: between the --- lines
        assert len(source.encode()) == limit + extra
        path = _bank(tmp_path / f"front-{extra}.md", "\n## Q {#q .easy}\n\nA.\n", front=f"---\n{source}\n---\n")
        problems = _problems(path)
        assert bool(problems) is refused, (extra, problems)
        if refused:
            assert "front matter is over 64 KiB" in problems[0]


def test_images_of_html_questions_are_looked_for_at_most_eight_folders_up(tmp_path):
    """``sources.markdown.MAX_MEDIA_LEVELS`` (8): a ``media/`` folder beside the bank or up to seven folders above
    it is read; one eight folders above is not (a warning says the image was not found), so a bank never searches
    the whole disk."""
    import hashlib

    from tests.bounds_corpus import png

    data = png(4, 4)
    name = hashlib.sha256(data).hexdigest()[:16] + ".png"
    found = {}
    for up in (7, 8):
        root = tmp_path / f"up-{up}"
        (root / "media").mkdir(parents=True)
        (root / "media" / name).write_bytes(data)
        folder = root.joinpath(*[f"l{i}" for i in range(up)])
        folder.mkdir(parents=True)
        path = _bank(folder / "bank.md", f'\n## Picture? {{#p .easy format=html}}\n\n<p><img src="{name}"></p>\n')
        result = markdown_source.MarkdownReader().read(path)
        found[up] = (name in result.media, [w.message for w in result.warnings])
    assert found[7] == (True, []), found[7]
    assert found[8][0] is False and any("not found in a `media/` folder" in w for w in found[8][1]), found[8]


def test_numbers_in_front_matter_longer_than_their_limit_are_refused(tmp_path):
    """``markdown_bank.MAX_NUMBER_CHARS`` at its real value (40): refused before YAML converts it."""
    for digits, refused in ((40, False), (41, True)):
        front = f"---\nframework: {{name: F, order: {'9' * digits}}}\ntopic: T\nsubtopic: S\n---\n"
        problems = _problems(_bank(tmp_path / f"number-{digits}.md", "\n## Q {#q .easy}\n\nA.\n", front=front))
        assert any(f"number of {digits} characters in front matter" in p for p in problems) is refused, problems


def test_front_matter_nested_deeper_than_its_limit_is_refused(tmp_path):
    """``markdown_bank.MAX_FRONT_MATTER_DEPTH`` at its real value (20 levels, the document's own mapping the first):
    refused at its line before PyYAML's scanner (quadratic in the depth) or its composer (recursive) get there."""
    for depth, refused in ((20, False), (21, True)):
        lists = depth - 2  # the document's mapping and framework's are two levels
        front = f"---\nframework: {{name: F, x: {'[' * lists}{']' * lists}}}\ntopic: T\nsubtopic: S\n---\n"
        problems = _problems(_bank(tmp_path / f"deep-{depth}.md", "\n## Q {#q .easy}\n\nA.\n", front=front))
        assert any("nests lists or mappings more than 20 levels deep" in p for p in problems) is refused, problems


@pytest.mark.parametrize("reader", [markdown_source, nuxt])
def test_files_over_the_size_limit_are_refused_before_reading(tmp_path, reader):
    suffix = ".md" if reader is markdown_source else ".json"
    path = tmp_path / f"big{suffix}"
    with path.open("wb") as fh:  # sparse: no 32 MiB written, and nothing may read it
        fh.write(b"---\n" if suffix == ".md" else b"[")
        fh.truncate(FILE_BYTES + 1)
    with pytest.raises(InputError, match=r"over the 32 MiB limit"):
        sources.expand([path])[0][1].read(path)
    path.write_bytes(b"")
    with path.open("wb") as fh:
        fh.truncate(FILE_BYTES)  # at the limit: read (and refused for what it holds, not for its size)
    with pytest.raises(InputError) as info:
        sources.expand([path])[0][1].read(path)
    assert "MiB limit" not in str(info.value)


def test_nesting_deeper_than_the_limit_is_refused():
    def nested(depth: int) -> list:
        # a devalue payload: entry i is a one-element array referring to entry i + 1, the last one a string
        return [[i + 1] for i in range(depth)] + ["leaf"]

    with pytest.raises(devalue.DevalueError, match=f"nesting deeper than {DEPTH} levels"):
        devalue.unflatten(nested(DEPTH + 1))
    assert devalue.unflatten(nested(DEPTH))  # at the limit: decoded


# ---------------------------------------------------------------------------------------------- Anki packages


@pytest.fixture(scope="module")
def legacy(tmp_path_factory) -> dict[str, bytes]:
    package = build_packages(tmp_path_factory.mktemp("limits-apkg"))["legacy"]
    with zipfile.ZipFile(package) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _package(path: Path, members: dict[str, bytes], level: int = 9) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _refused(path: Path) -> str:
    with pytest.raises(InputError) as info:
        apkg.read_package(path)
    return str(info.value)


def test_a_member_inflating_just_over_the_ratio_limit_is_refused(legacy, tmp_path):
    """Deflate gives zeros about 1,030-fold: just over the 1,000-fold limit, and far below what a ×1000 would be."""
    zeros = bytes(8 << 20)
    path = _package(tmp_path / "ratio.apkg", {"collection.anki21": legacy["collection.anki21"],
                                              "media": json.dumps({"0": "a.png"}).encode(), "0": zeros})
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("0")
    assert RATIO < info.file_size / info.compress_size < 1.1 * RATIO
    assert "inflates 10" in _refused(path) and "-fold (a zip bomb?)" in _refused(path)


def test_a_member_declaring_more_than_the_member_limit_is_refused(legacy, tmp_path):
    data = random.Random(1).randbytes(1 << 20)  # incompressible: the ratio check stays quiet
    path = _package(tmp_path / "member.apkg", {"collection.anki21": legacy["collection.anki21"],
                                               "media": json.dumps({"0": "a.png"}).encode(), "0": data})
    _patch_declared_size(path, "0", MEMBER + 1)
    assert f"declares {limits.mib(MEMBER + 1)} " in _refused(path)


def test_members_declaring_more_than_the_total_limit_are_refused(legacy, tmp_path):
    data = random.Random(2).randbytes(1 << 20)
    count = DECLARED_TOTAL // MEMBER + 1  # 9 members of 1 MiB on disk
    members = {"collection.anki21": legacy["collection.anki21"], "media": b"{}"}
    members.update({f"{i}": data for i in range(count)})
    path = _package(tmp_path / "total.apkg", members)
    for i in range(count):
        _patch_declared_size(path, f"{i}", MEMBER)  # each at the member limit, together over the total
    assert "a zip bomb?" in _refused(path)


def _latest_package(path: Path, collection: bytes) -> Path:
    """A current-format package (zstd collection) around ``collection`` (already zstd-compressed)."""
    from anki.import_export_pb2 import PackageMetadata

    return _package(path, {"meta": PackageMetadata(version=anki_archive.LATEST).SerializeToString(),
                           "collection.anki21b": collection, "media": zstandard.ZstdCompressor().compress(b"")},
                    level=0)


def _zstd_zeros(size: int, **params: int) -> bytes:
    """An SQLite header and ``size`` bytes of zeros, zstd-compressed (a few KiB)."""
    compressor = zstandard.ZstdCompressor(compression_params=zstandard.ZstdCompressionParameters.from_level(
        1, **params)) if params else zstandard.ZstdCompressor(level=1)
    buffer = io.BytesIO()
    with compressor.stream_writer(buffer, closefd=False) as writer:
        writer.write(b"SQLite format 3\0")
        for _ in range(size >> 24):
            writer.write(bytes(16 << 20))
    return buffer.getvalue()


def test_a_collection_inflating_past_its_limit_is_refused_while_streaming(tmp_path):
    path = _latest_package(tmp_path / "collection.apkg", _zstd_zeros(COLLECTION + 16 * MiB))
    assert "the collection inflates beyond 256 MiB" in _refused(path)


def test_a_zstd_frame_asking_for_a_larger_window_is_refused(tmp_path):
    window_log = ZSTD_WINDOW.bit_length()  # a window twice the limit
    frame = _zstd_zeros(5 << 24, window_log=window_log, write_content_size=0)
    assert zstandard.get_frame_parameters(frame).window_size > ZSTD_WINDOW
    message = _refused(_latest_package(tmp_path / "window.apkg", frame))
    assert "the collection is damaged (ZstdError" in message and "too much memory" in message


@pytest.mark.slow
def test_an_image_over_its_limit_is_left_out_with_a_warning(tmp_path):
    from tests.apkg_decks import png_bytes

    package = build_packages(tmp_path / "img")["legacy"]
    with zipfile.ZipFile(package) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
        media = json.loads(members["media"])
    (index, name), = [(i, n) for i, n in media.items() if n.endswith(".png")][:1]
    big = png_bytes(4, 4, (0, 0, 0)) + random.Random(4).randbytes(IMAGE)  # just over, incompressible
    members[index] = big
    path = _package(tmp_path / "big-image.apkg", members, level=1)
    result = apkg.read_package(path)
    assert any(f"image {name!r} skipped: too large" in w.message for w in result.warnings), result.warnings
    assert not result.media


@pytest.mark.slow
def test_a_media_map_over_its_limit_is_refused(legacy, tmp_path):
    rng = random.Random(5)
    entry = len(json.dumps({"100000": "x" * 96 + ".png"})) - 2  # one entry and its separator, in the JSON
    names = {str(100_000 + i): rng.randbytes(48).hex() + ".png" for i in range(MEDIA_MAP // entry + 1)}
    assert len(json.dumps(names)) > MEDIA_MAP
    path = _package(tmp_path / "map.apkg", {"collection.anki21": legacy["collection.anki21"],
                                            "media": json.dumps(names).encode()})
    assert f"inflates beyond {limits.mib(MEDIA_MAP)} " in _refused(path)


@pytest.mark.slow
def test_images_over_the_total_limit_are_left_out(tmp_path):
    """Images of 15 MiB each (under the one-image limit), each its own, until their sum passes the total: the
    reader's own budget (the one its cards' images are read with) leaves the rest out, each with its reason."""
    from tests.apkg_decks import png_bytes

    package = build_packages(tmp_path / "imgs")["legacy"]
    with zipfile.ZipFile(package) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    media = json.loads(members["media"])
    index = next(i for i, n in media.items() if n.endswith(".png"))
    tail = random.Random(6).randbytes(15 << 20)
    image = png_bytes(4, 4, (0, 0, 0)) + tail
    count = IMAGES_TOTAL // len(image) + 1
    members[index] = image
    result = apkg.read_package(_package(tmp_path / "ok.apkg", members, level=0))
    assert len(result.media) == 1  # one image alone is fine
    # each its own content (an image read twice counts once): another colour, the same tail
    big = {str(1000 + i): png_bytes(4, 4, (i + 1, 0, 0)) + tail for i in range(count)}
    archive = anki_archive.PackageArchive.open(_package(tmp_path / "many.apkg", {
        **members, "media": json.dumps({**{key: f"big{i}.png" for i, key in enumerate(big)}, **media}).encode(),
        **big}, level=0))
    warnings: list = []
    try:
        collector = apkg._MediaCollector(archive, warnings)
        kept = [collector.resolve(f"big{i}.png", f"note {i}") for i in range(count)]
    finally:
        archive.close()
    assert all(kept[:-1]) and len(set(kept[:-1])) == count - 1 == IMAGES_TOTAL // len(image)
    assert kept[-1] is None
    assert len(warnings) == 1 and f"big{count - 1}.png" in warnings[0].message
    assert "192 MiB allowed for all images" in warnings[0].message, warnings[0].message


@pytest.mark.slow
def test_a_zip_of_more_members_than_the_limit_is_refused(legacy, tmp_path):
    path = tmp_path / "members.apkg"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("collection.anki21", legacy["collection.anki21"])
        for i in range(MEMBERS):
            zf.writestr(str(i), b"")
    assert f"holds {MEMBERS + 1} files (limit {MEMBERS})" in _refused(path)


# ---------------------------------------------------------------------------------------------- state and config


def test_a_config_file_over_its_limit_is_one_usage_error(tmp_path):
    """``cli.config.MAX_CONFIG_BYTES`` (1 MiB): a config file of exactly 1 MiB is read, one byte more is refused
    before it is read: one line, exit 2."""
    from typer.testing import CliRunner

    from qaexport.cli import app

    bank = _bank(tmp_path / "bank.md", "\n## Q {#q .easy}\n\nA.\n")
    config = tmp_path / "qaexport.toml"
    head = 'title = "T"\n'
    for extra, code in ((0, 0), (1, 2)):
        filler = 1024 * 1024 + extra - len(head)
        config.write_text(head + ("#" * 1023 + "\n") * (filler // 1024) + "#" * (filler % 1024), encoding="utf-8")
        assert config.stat().st_size == 1024 * 1024 + extra
        result = CliRunner().invoke(app, ["validate", str(bank), "--config", str(config)])
        assert result.exit_code == code, result.output
        if code:
            lines = result.output.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in result.output, result.output
            assert "over the 1 MiB a config file may have" in lines[0] and str(config) in lines[0], lines


def _previous_package(path: Path, models: str, decks: str) -> Path:
    """A legacy package holding just what the Anki exporter reads of a previous deck, stored (not deflated)."""
    import sqlite3

    db = path.with_suffix(".anki2")
    with sqlite3.connect(db) as conn:
        conn.executescript("create table col (models text, decks text);"
                           "create table notes (id integer, guid text, mod integer, flds text, tags text);"
                           "create table cards (nid integer, did integer, ord integer);")
        conn.execute("insert into col values (?, ?)", (models, decks))
        conn.execute("insert into notes values (1, 'g', 1, 'q\x1fa', '')")
        conn.execute("insert into cards values (1, 1, 0)")
    conn.close()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.write(db, "collection.anki2")
        zf.writestr("media", "{}")
    db.unlink()
    return path


@pytest.mark.parametrize("column", ["models", "decks"])
def test_a_previous_packages_note_types_and_decks_are_bounded_before_they_are_read(tmp_path, column):
    """``exporters.anki.collection.MAX_MODELS_BYTES`` (16 MiB): the previous deck's note types and decks JSON are
    read whole, so each is measured first; one over 16 MiB is one line naming the file, never parsed."""
    from qaexport.errors import OutputError
    from qaexport.exporters.anki.collection import read_previous

    small = json.dumps({"1": {"name": "Default"}})
    padded = json.dumps({"1": {"name": "Default", "pad": "x" * (16 * 2**20)}})  # just over, as text
    for text, refused in ((small, False), (padded, True)):
        path = _previous_package(tmp_path / f"{column}-{refused}.apkg", text if column == "models" else "{}",
                                 text if column == "decks" else "{}")
        if not refused:
            assert "g" in read_previous(path)
            continue
        with pytest.raises(OutputError) as info:
            read_previous(path)
        what = "note types" if column == "models" else "decks"
        assert f"its {what} take {limits.mib(len(padded))}, over 16 MiB" in str(info.value), str(info.value)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------- state


@pytest.mark.slow
def test_the_ledger_keeps_its_limit_of_notes(tmp_path):
    """One export of more notes than the limit keeps all of them (it must: they are the times just handed out);
    the next export forgets the oldest down to the limit."""
    import sqlite3

    from qaexport.exporters.anki import ledger

    place, said = ledger.location(tmp_path), []
    first = {f"guid-{i}": f"fingerprint-{i}" for i in range(LEDGER_ROWS + 1)}
    ledger.note_times(place, first, {}, 1_700_000_000, said.append)
    ledger.note_times(place, {"guid-new": "fingerprint"}, {}, 1_700_000_001, said.append)
    assert said == []
    with sqlite3.connect(place) as conn:
        (rows,) = conn.execute("select count(*) from notes").fetchone()
        (kept,) = conn.execute("select count(*) from notes where id = 'guid-new'").fetchone()
    assert (rows, kept) == (LEDGER_ROWS, 1)


def test_documented_size_of_the_render_cache():
    """A limit whose behaviour costs hundreds of MiB to show: its value is the documented one."""
    from qaexport.render.cache import DEFAULT_MAX_BYTES

    guide = (Path(__file__).resolve().parent.parent / "docs" / "guide.md").read_text(encoding="utf-8")
    assert DEFAULT_MAX_BYTES == 256 * 2**20 and "at most 256 MiB" in guide


def test_a_package_note_over_the_text_limits_is_skipped_with_a_warning_and_the_rest_read(tmp_path):
    """A package is somebody else's data: a cloze note of 5,200 characters (over the 5,000 of a question) and a
    note whose back is 200,100 characters (over the 200,000 of an answer) are each skipped with a warning naming
    the deck, the note's first words and the limit; the run goes on with the other notes (it used to fail whole).
    A qaexport deck's own notes (read from their fields) are treated alike."""
    from tests.anki_collection import new_collection
    from tests.apkg_decks import add, export

    cloze = "Long cloze {{c1::first}} " + "and more words " * 346  # 5,204 characters
    assert 5_000 < len(cloze) < 5_300
    with new_collection(tmp_path / "col") as col:
        add(col, "Cloze", "Long::Texts", {"Text": cloze, "Back Extra": ""})
        add(col, "Basic", "Long::Texts", {"Front": "A long back?", "Back": "words " * 33_350})  # 200,100
        add(col, "Basic", "Long::Texts", {"Front": "A short question?", "Back": "A short answer."})
        package = export(col, tmp_path / "long.apkg", legacy=False)
    result = apkg.read_package(package)
    read = [q.question for sub in result.subtopics for q in sub.questions]
    assert len(read) == 1 and "A short question?" in read[0], read
    said = [str(w) for w in result.warnings if "limit" in str(w)]
    assert len(said) == 2, said
    assert "'Long::Texts'" in said[0] and "note 'Long cloze" in said[0] and "over the 5,000 limit" in said[0]
    assert "A long back?" in said[1] and "over the 200,000 limit" in said[1] and "skipped" in said[1]
    assert all("\n" not in w for w in said)
    from typer.testing import CliRunner

    from qaexport.cli import app

    runner = CliRunner()
    done = runner.invoke(app, ["validate", str(package)])
    assert done.exit_code == 0 and "over the 5,000 limit" in done.output, done.output
    own = tmp_path / "own.apkg"  # qaexport's own note type: the texts are its fields
    (tmp_path / "bank.md").write_text("---\nframework: F\ntopic: T\nsubtopic: S\n---\n\n## Short? {#a .easy}\n\n"
                                      "Yes.\n\n## Long? {#b .easy}\n\n" + "words " * 10 + "\n", encoding="utf-8")
    done = runner.invoke(app, ["anki", str(tmp_path / "bank.md"), "-o", str(own)])
    assert done.exit_code == 0, done.output
    _lengthen_note_field(own, "Long?", "Question", "Long? " + "more words " * 500)
    result = apkg.read_package(own)
    assert [q.id for sub in result.subtopics for q in sub.questions] == ["a"]
    assert any("over the 5,000 limit" in str(w) for w in result.warnings), result.warnings


def _lengthen_note_field(package: Path, starts: str, field: str, text: str) -> None:
    """The note whose question starts with ``starts`` given ``text`` in ``field``, in a package made by qaexport
    (edited through the real ``anki`` package, as a learner's edit would be, and exported again)."""
    from tests.anki_collection import import_deck, new_collection
    from tests.apkg_decks import export

    with new_collection(package.parent / f"{package.stem}-edit") as col:
        import_deck(col, package)
        (nid,) = [n for n in col.find_notes("") if col.get_note(n)["Question"].startswith(starts)]
        note = col.get_note(nid)
        note[field] = text
        col.update_note(note)
        export(col, package, legacy=False)


def _bank_warnings(legacy: dict[str, bytes], path: Path, bank: bytes) -> list[str]:
    """What the .apkg source says of a package carrying ``bank`` as its bank member (stored: no zip ratio)."""
    from qaexport.formats.anki_package import BANK_MEMBER

    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in legacy.items():
            zf.writestr(name, data)
        zf.writestr(BANK_MEMBER, bank)
    result = apkg.read_package(path)
    assert result.subtopics  # the notes are read instead
    return [w.message for w in result.warnings if "qaexport-bank.json" in w.message]


def test_a_deck_bank_over_its_limit_is_ignored_and_the_notes_read(legacy, tmp_path):
    """``anki_package.MAX_BANK_BYTES`` (48 MiB): the bank is parsed whole, so a bigger one is not read at all."""
    filler = random.Random(7).randbytes(12 * 2**20).hex()  # 24 MiB of text: a long string, few values
    bank = json.dumps({"qaexport": 1, "frameworks": [], "pad": [filler, filler]}).encode()
    assert 48 * 2**20 < len(bank) < 49 * 2**20
    said = _bank_warnings(legacy, tmp_path / "big.apkg", bank)
    assert len(said) == 1 and "inflates beyond 48 MiB " in said[0], said


def test_a_deck_bank_of_tiny_values_is_refused_before_it_is_parsed(legacy, tmp_path):
    """``anki_package.BYTES_PER_CONTAINER``/``BYTES_PER_VALUE``: 2 MiB of ``{}`` would be 50 MiB of objects (at the
    size limit, 1.3 GiB): refused by counting, before ``json.loads``; a real bank of one-letter questions passes."""
    from qaexport.formats.anki_package import BankError, read_bank

    dense = b'{"qaexport": 1, "frameworks": [' + b"{}," * (2**20 // 3 * 2) + b"{}]}"
    said = _bank_warnings(legacy, tmp_path / "dense.apkg", dense)
    assert len(said) == 1 and "too many small values to be a bank" in said[0], said
    numbers = b'{"qaexport": 1, "frameworks": [], "n": [' + b"1.5," * 2**19 + b"1]}"
    with pytest.raises(BankError, match="too many small values"):
        read_bank(numbers)  # one value per 4 bytes: many floats
    nested = b'{"qaexport": 1, "frameworks": [], "n": [' + b'{"aaaaaaaaaa":{}},' * 2**17 + b"1]}"
    with pytest.raises(BankError, match="too many small values"):
        read_bank(nested)  # one value per 9 bytes, but an object per 9 bytes
    question = {"id": "q", "key": "f/t/s/q", "origin": "", "difficulty": "easy", "format": "markdown",
                "cloze": "", "question": "a", "answer": "b", "images": {}}
    real = {"qaexport": 1, "cover": None, "frameworks": [{"slug": "f", "name": "F", "description": "", "order": None,
            "topics": [{"slug": "t", "name": "T", "description": "", "order": None, "subtopics": [
                {"slug": "s", "name": "S", "description": "", "order": None,
                 "questions": [dict(question, id=f"q{i}", key=f"f/t/s/q{i}") for i in range(20_000)]}]}]}]}
    data = json.dumps(real, separators=(",", ":")).encode()
    assert len(data) > 2**20 and len(read_bank(data).frameworks[0].children[0].children[0].questions) == 20_000


def _originals_payload(raw: bytes) -> str:
    """A deck description's originals payload (zlib'd, base64) of the JSON ``raw``."""
    import base64
    import zlib

    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def test_deck_originals_of_tiny_values_are_refused_before_they_are_parsed():
    """The deck's stored originals get the bank's density check: 2 MiB of ``[]`` (some 8 KiB zlib'd in a deck
    description, under the 32 MiB originals limit) would parse into 50 MiB of lists; refused by counting, before
    ``json.loads``, with one line. Real originals of 20,000 notes (over 1 MiB) pass."""
    from qaexport.formats.anki_package import BankError, read_originals

    dense = b'{"qaexport-originals": 1, "files": [], "n": [' + b"[]," * (2**20 // 3 * 2) + b"[]]}"
    payload = _originals_payload(dense)
    assert len(payload) < 20_000
    with pytest.raises(BankError, match="too many small values to be a deck's originals") as refused:
        read_originals(payload)
    assert "\n" not in str(refused.value)
    notes = [[f"guid{i:06d}", f"f/t/s/q{i}", f"{i:032x}"] for i in range(20_000)]
    real = {"qaexport-originals": 1, "files": [{"name": "bank.md", "text": "# A bank\n", "notes": notes,
                                                 "images": {}, "media": {}}]}
    data = json.dumps(real, separators=(",", ":")).encode()
    assert len(data) > 2**20
    (read,) = read_originals(_originals_payload(data))
    assert len(read.notes) == 20_000


def test_every_limit_constant_is_tested_here():
    """A new limit gets its test: every limit constant (``MAX_…``, ``EXPANSION_…``) of the modules whose limits
    these files cover is named in one of them."""
    import re

    from qaexport.cli import config
    from qaexport.exporters.anki import collection
    from qaexport.formats import math

    here = Path(__file__).parent  # this file, and the bounds tests of limits.py and the Markdown reader
    text = "".join((here / name).read_text(encoding="utf-8") for name in
                   ("test_limits.py", "test_bounded_decoding.py", "test_markdown_bounds.py", "test_anki_originals.py"))
    for module in (anki_archive, anki_package, limits, markdown_bank, devalue, math, collection, config,
                   markdown_source, nuxt):
        defined = re.findall(r"^((?:MAX|EXPANSION)_[A-Z_]+) = ", Path(module.__file__).read_text(encoding="utf-8"),
                             re.M)
        for name in defined:  # the module's own limits (one it imports is tested where it is defined)
            assert name in text, f"{module.__name__}.{name} has no test in {Path(__file__).name}"


@pytest.mark.parametrize(("size", "told"), [
    (35_977_823, "file is 34.3 MiB, over the 32 MiB limit"),  # said "36.0 MB, over the 32 MiB limit"
    (32 * 2**20 + 1, "file is 32.1 MiB, over the 32 MiB limit"),  # never "32.0 MiB, over the 32 MiB limit"
])
def test_a_size_over_a_limit_is_told_in_the_limits_unit(tmp_path, size, told):
    """Sizes are printed against limits in one unit, MiB, as the limits are (limits.mib)."""
    import subprocess
    import sys

    path = tmp_path / "big.md"
    with path.open("wb") as fh:  # sparse: nothing is written, nor read
        fh.write(b"---\n")
        fh.truncate(size)
    done = subprocess.run([sys.executable, "-m", "qaexport", "validate", "big.md"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and f"big.md: {told}; split the subtopic into several files" in done.stderr, \
        done.stdout + done.stderr
    assert limits.mib(16 * 2**20 + 5 * 2**19) == "18.5 MiB" and limits.mib(2**20) == "1 MiB"
