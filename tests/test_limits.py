"""Every limit holds at its own value: input just over it is refused (or left out) with its one line, input at it
passes. The inputs are sized from the limits' real values written out below, never from the constants and never a
smaller stand-in: a limit loosened in the code (a ×1000, a removed check) lets the input through and the test fails
at once. Input sized from a constant would follow a loosened one to gigabytes (``tests/mutants.py`` loosens each
limit a thousandfold: such tests took 16-24 GiB and were killed), so memory and disk here stay bounded whatever the
code says."""

from __future__ import annotations

import io
import json
import os
import random
import zipfile
from pathlib import Path

import pytest
import zstandard

from qaexport import assemble, sources
from qaexport.errors import InputError
from qaexport.formats import markdown_bank
from qaexport.sources import apkg, devalue, nuxt
from qaexport.sources import markdown as markdown_source
from tests.apkg_bad import _patch_declared_size
from tests.apkg_decks import build_packages
from tests.payloads import page, question, subtopic, write

FRONT = "---\nframework: F\ntopic: T\nsubtopic: S\n---\n"
MiB = 2**20
# The real values (the constant each one is, named for test_every_limit_constant_is_tested_here).
QUESTION_CHARS = 5_000  # assemble.MAX_QUESTION_CHARS
ANSWER_CHARS = 200_000  # assemble.MAX_ANSWER_CHARS
FRONT_MATTER_BYTES = 64 * 1024  # markdown_bank.MAX_FRONT_MATTER_BYTES
FILE_BYTES = 32 * MiB  # the readers' MAX_BYTES
MEMBER = 512 * MiB  # apkg.MAX_MEMBER
DECLARED_TOTAL = 4 * 2**30  # apkg.MAX_DECLARED_TOTAL
MEMBERS = 200_000  # apkg.MAX_MEMBERS
COLLECTION = 256 * MiB  # apkg.MAX_COLLECTION
ZSTD_WINDOW = 2**26  # apkg.MAX_ZSTD_WINDOW
IMAGE = 16 * MiB  # apkg.MAX_IMAGE
IMAGES_TOTAL = 192 * MiB  # apkg.MAX_IMAGES_TOTAL
MEDIA_MAP = 16 * MiB  # apkg.MAX_MEDIA_MAP
LEDGER_ROWS = 200_000  # ledger.MAX_ROWS
ID_CHARS = 120  # model.MAX_ID_CHARS
DEPTH = 100  # devalue.MAX_DEPTH
RATIO = 1_000  # apkg.MAX_RATIO


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
    assert f"declares {MEMBER + 1} bytes" in _refused(path)


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

    return _package(path, {"meta": PackageMetadata(version=apkg.LATEST).SerializeToString(),
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
    assert f"inflates beyond {MEDIA_MAP} bytes" in _refused(path)


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
    archive = apkg.PackageArchive.open(_package(tmp_path / "many.apkg", {
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
    assert len(warnings) == 1 and f"big{count - 1}.png" in warnings[0].message and "too large" in warnings[0].message


@pytest.mark.slow
def test_a_zip_of_more_members_than_the_limit_is_refused(legacy, tmp_path):
    path = tmp_path / "members.apkg"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("collection.anki21", legacy["collection.anki21"])
        for i in range(MEMBERS):
            zf.writestr(str(i), b"")
    assert f"holds {MEMBERS + 1} files (limit {MEMBERS})" in _refused(path)


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


def test_documented_sizes_of_the_render_cache_and_a_deck_bank():
    """Limits whose behaviour costs hundreds of MiB to show: their value is the documented one."""
    from qaexport.formats.anki_package import MAX_BANK_BYTES
    from qaexport.render.cache import DEFAULT_MAX_BYTES

    guide = (Path(__file__).resolve().parent.parent / "docs" / "guide.md").read_text(encoding="utf-8")
    assert DEFAULT_MAX_BYTES == 256 * 2**20 and "at most 256 MiB" in guide
    assert MAX_BANK_BYTES == 256 * 2**20


def test_every_limit_constant_is_tested_here():
    """A new limit gets its test: every MAX_ constant of the modules whose limits this file covers is named."""
    import re

    text = Path(__file__).read_text(encoding="utf-8")
    for module in (apkg, assemble, markdown_bank, devalue):
        defined = re.findall(r"^(MAX_[A-Z_]+) = ", Path(module.__file__).read_text(encoding="utf-8"), re.M)
        for name in defined:  # the module's own limits (one it imports is tested where it is defined)
            assert name in text, f"{module.__name__}.{name} has no test in {Path(__file__).name}"
    assert os.path.basename(__file__) == "test_limits.py"
