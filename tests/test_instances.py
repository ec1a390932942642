"""The static instances of the text faces (books/instances.py): one file per face and weight the stylesheets use,
the right weight in each, kept in a store that finds them again and makes a damaged or stale one anew; WeasyPrint
then instantiates no variable font while it writes a booklet."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import uharfbuzz as hb
from fontTools.ttLib import TTFont

from qaexport.books import instances
from qaexport.books.fonts import MONO, SANS, SERIF, font_face_css, text_faces
from qaexport.cli.common import FONT_DIR_ENV, use_font_store

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "qaexport" / "templates"


def _advance(path: Path, char: str, weight: int | None) -> int:
    """The advance of ``char`` in the font at ``path``, shaped by HarfBuzz at ``weight`` (None: as it is)."""
    font = hb.Font(hb.Face(hb.Blob.from_file_path(str(path))))
    if weight is not None:
        font.set_variations({"wght": weight})
    return font.get_glyph_h_advance(font.get_nominal_glyph(ord(char)))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    instances.static_faces(text_faces(), folder)
    return folder


def test_each_face_and_weight_is_a_static_file_of_that_weight(store):
    faces = instances.static_faces(text_faces(), store)
    assert {(f.family, f.style, f.weights) for f in faces} == {
        (family, style, str(weight)) for family in (SERIF, SANS, MONO) for style in ("normal", "italic")
        for weight in instances.WEIGHTS}
    variable = {(f.family, f.style): f.path for f in text_faces()}
    for face in faces:
        assert face.path.parent == store
        with TTFont(face.path, lazy=True) as font:
            assert "fvar" not in font and "gvar" not in font, face.path.name
            assert font["OS/2"].usWeightClass == int(face.weights), face.path.name
        source = variable[(face.family, face.style)]
        for char in "aW":  # the advances the variable face has at this weight (bold text is wider)
            assert _advance(face.path, char, None) == _advance(source, char, int(face.weights)), face.path.name


def test_the_print_layouts_name_exactly_these_files(store, monkeypatch):
    session_store = instances.store_folder()
    monkeypatch.setenv(FONT_DIR_ENV, str(store))
    use_font_store()  # the CLI reads QAEXPORT_FONT_DIR at the edge
    try:
        assert instances.store_folder() == store
    finally:
        instances.use_store(session_store)
    css = font_face_css(instances.static_faces(text_faces(), store))
    named = re.findall(r'src: url\("([^"]+)"\); font-weight: (\d+);', css)
    assert sorted(named) == sorted((f.uri, f.weights) for f in instances.static_faces(text_faces(), store))
    assert len(named) == 12


def test_the_store_finds_its_files_again_and_remakes_a_damaged_or_stale_one(tmp_path, monkeypatch):
    source = next(f.path for f in text_faces() if f.family == MONO and f.style == "normal")
    made = instances.instance(source, 700, tmp_path)
    data = made.read_bytes()
    monkeypatch.setattr(instances, "cut", lambda *a, **k: pytest.fail("made again though a good file is there"))
    assert instances.instance(source, 700, tmp_path) == made
    monkeypatch.undo()

    made.write_bytes(data[: len(data) // 2])  # cut short (a crash, a full disk, a copy gone wrong)
    again = instances.instance(source, 700, tmp_path)
    assert again == made and again.read_bytes() == data
    made.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])  # one bit flipped
    assert instances.instance(source, 700, tmp_path).read_bytes() == data
    assert list(tmp_path.iterdir()) == [made]  # nothing left beside it

    monkeypatch.setattr(instances, "VERSION", instances.VERSION + 1)  # made another way: another key
    newer = instances.instance(source, 700, tmp_path)
    assert newer != made and newer.exists()
    assert instances.instance(source, 400, tmp_path) not in (made, newer)  # the weight is in the name
    changed = tmp_path / "changed" / source.name  # another release of the font, under the same file name
    changed.parent.mkdir()
    changed.write_bytes(source.read_bytes() + b"\0" * 4)
    assert instances.instance(changed, 700, tmp_path) not in (made, newer)


def test_an_unwritable_store_falls_back_to_the_variable_faces(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert instances.static_faces(text_faces(), blocked / "fonts") == text_faces()


def test_the_stylesheets_draw_text_only_at_the_weights_made():
    """A weight no static file has would be drawn with the nearest file (or emboldened by the renderer)."""
    import weasyprint

    sheets = [*TEMPLATES.glob("pdf/*.css"), *TEMPLATES.glob("cards/*.css"),
              Path(weasyprint.__file__).parent / "css" / "html5_ua.css"]
    said = {value.strip() for sheet in sheets
            for value in re.findall(r"font-weight\s*:\s*([^;}!]+)", sheet.read_text(encoding="utf-8"))}
    assert said == {"bold", "normal"}  # 700 and 400
    assert {700, 400} == set(instances.WEIGHTS)


@pytest.mark.slow
def test_weasyprint_instantiates_no_variable_text_face(tmp_path, monkeypatch):
    """The seed's booklet is written without WeasyPrint instancing a face with fontTools (~0.2 s of a small booklet for
    the text faces): neither a text face nor the symbols and emoji it draws arrows and marks with (static files too,
    ``fonts.STATIC_FALLBACKS``: their instancing was ~6 % of a 560 book's part's CPU and ~15 MiB of its memory). The
    other scripts' faces still are (variable, used by few books)."""
    import weasyprint.pdf.fonts as weasy_fonts

    from tests.cli_run import qaexport

    seen = tmp_path / "instanced.txt"  # written by the forked layout process too
    original = weasy_fonts.instantiateVariableFont

    def instantiate(font, variations, **kwargs):
        with seen.open("a", encoding="utf-8") as out:
            out.write(font["name"].getDebugName(1) + "\n")
        return original(font, variations, **kwargs)

    monkeypatch.setattr(weasy_fonts, "instantiateVariableFont", instantiate)
    qaexport("pdf", str(ROOT / "data"), "-o", str(tmp_path / "book.pdf"), "--no-cache",
             env={"QAEXPORT_CACHE_DIR": str(tmp_path / "cache")})
    instanced = set(seen.read_text(encoding="utf-8").splitlines()) if seen.exists() else set()
    assert not instanced, instanced
    assert {"qaexport-Symbols", "qaexport-Emoji"} <= _embedded(tmp_path / "book.pdf")  # it draws with them


def _embedded(path: Path) -> set[str]:
    """The font families a PDF embeds (their base font names without the subset tag)."""
    import pikepdf

    names = set()
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            for font in page.obj.get("/Resources", {}).get("/Font", {}).values():
                names.add(str(font.get("/BaseFont", "")).lstrip("/").split("+", 1)[-1])
    return names


def _forget(folder: Path) -> None:
    """This process no longer uses ``folder`` (as a new process would start): its lock released, nothing cached."""
    import os

    fd = instances._locks.pop(folder, None)
    if fd is not None:
        os.close(fd)
    instances.static_faces.cache_clear()


def _stale_file(folder: Path, monkeypatch) -> Path:
    """A file of the store made by another version of qaexport (another key)."""
    source = next(f.path for f in text_faces() if f.family == MONO and f.style == "normal")
    with monkeypatch.context() as patched:
        patched.setattr(instances, "VERSION", instances.VERSION + 1)
        return instances.instance(source, 700, folder)


def test_the_store_keeps_only_the_files_this_version_uses(tmp_path, monkeypatch):
    folder = tmp_path / "store"
    folder.mkdir()
    stale = _stale_file(folder, monkeypatch)
    mine = [folder / "MyFont-Regular.ttf", folder / "notes.txt"]  # not named as the store names its files
    for path in mine:
        path.write_bytes(b"kept")
    try:
        faces = instances.static_faces(text_faces(), folder)
        assert not stale.exists()
        assert sorted(folder.glob("*.ttf")) == sorted([*(f.path for f in faces), mine[0]])
        assert all(path.read_bytes() == b"kept" for path in mine)
    finally:
        _forget(folder)


def test_a_store_another_process_uses_is_not_pruned(tmp_path, monkeypatch):
    """Files are removed only while no other process holds the store's lock (each user holds it shared while it
    lives): another version's process may be reading its files."""
    import fcntl
    import os

    folder = tmp_path / "store"
    folder.mkdir()
    stale = _stale_file(folder, monkeypatch)
    other = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT)  # another process using the store (its own open file)
    fcntl.flock(other, fcntl.LOCK_SH)
    try:
        faces = instances.static_faces(text_faces(), folder)
        assert stale.exists() and len(faces) == 12 and all(f.path.parent == folder for f in faces)
    finally:
        os.close(other)
        _forget(folder)
    instances.static_faces(text_faces(), folder)  # the next run, alone: pruned
    try:
        assert not stale.exists()
    finally:
        _forget(folder)


def test_a_process_waits_a_bounded_time_for_a_pruning_one(tmp_path, monkeypatch):
    import fcntl
    import os

    folder = tmp_path / "store"
    folder.mkdir()
    monkeypatch.setattr(instances, "LOCK_WAIT_S", 0.05)
    other = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)  # pruning, and stuck
    try:
        assert instances.static_faces(text_faces(), folder) == text_faces()  # the variable faces: same text
    finally:
        os.close(other)
        _forget(folder)


def test_the_index_finds_the_faces_again_without_the_font_packages_or_digests(tmp_path, monkeypatch):
    """A run finds the static faces through the store's index (a few stats) where the files are those recorded; a
    file changed since (made again, replaced, cut short), another installation or a damaged index: found the slow
    way, by the font packages and the files' digests, and recorded again."""
    from qaexport.books import fonts

    folder = tmp_path / "store"
    slow = fonts._print_faces(folder)  # the first run: the slow way, recorded
    fonts._print_faces.cache_clear()
    _forget(folder)
    try:
        assert (folder / instances.INDEX).exists()
        with monkeypatch.context() as patched:
            for name in ("text_faces", "static_faces"):
                patched.setattr(fonts if name == "text_faces" else instances, name,
                                lambda *a, **k: pytest.fail("found the slow way though the index knows the files"))
            assert fonts._print_faces(folder) == slow
            assert font_face_css(fonts._print_faces(folder)) == font_face_css(slow)
        fonts._print_faces.cache_clear()

        def slow_way_taken(change) -> bool:
            calls = []
            original = instances.static_faces
            with monkeypatch.context() as patched:
                patched.setattr(instances, "static_faces", lambda *a: calls.append(a) or original(*a))
                change()
                assert fonts._print_faces(folder) == slow
            fonts._print_faces.cache_clear()
            _forget(folder)
            return bool(calls)

        data = slow[0].path.read_bytes()
        assert slow_way_taken(lambda: slow[0].path.write_bytes(data[:-1]))  # cut short: made again
        assert slow[0].path.read_bytes() == data
        assert not slow_way_taken(lambda: None)  # recorded again with the new file's stamp
        with monkeypatch.context() as patched:
            patched.setattr(instances, "_installation", lambda: "another installation")
            assert slow_way_taken(lambda: None)
        assert not slow_way_taken(lambda: None)  # both installations remembered
        assert slow_way_taken(lambda: (folder / instances.INDEX).write_text("{not json", encoding="utf-8"))
        assert not slow_way_taken(lambda: None)
        index = (folder / instances.INDEX).read_bytes()  # the real index, padded past the limit: not read
        assert len(index) < 64 * 2**10
        assert slow_way_taken(lambda: (folder / instances.INDEX).write_bytes(index + b" " * (600 * 2**10)))
        assert not slow_way_taken(lambda: None)
    finally:
        fonts._print_faces.cache_clear()
        _forget(folder)


def test_a_process_waits_for_a_pruning_one_without_polling(tmp_path, monkeypatch):
    """Blocked in flock until the pruning process lets go (no sleep-and-try-again loop), then it uses the store."""
    import fcntl
    import os
    import threading
    import time

    folder = tmp_path / "store"
    folder.mkdir()
    monkeypatch.setattr(instances, "LOCK_WAIT_S", 600.0)  # the release below comes long before: no timing here
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    other = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)  # pruning
    release = threading.Timer(0.3, os.close, [other])
    release.start()
    try:
        assert instances._use(folder, None)
        assert slept == []
        probe = os.open(folder / ".lock", os.O_RDWR)
        try:  # this process holds the store shared: a pruning process is refused
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
    finally:
        release.join()
        _forget(folder)


def test_the_text_faces_are_found_through_the_stores_index_once_recorded(tmp_path, monkeypatch):
    """fonts.text_faces: through fontpkg (every distribution's entry points read twice, ~15 ms) once per installation,
    then from the store's text faces index (a few stats): the same faces. A file whose stamp changed, an index naming a
    file outside the import path, another installation or a damaged index: fontpkg again, and recorded again."""
    from qaexport.books import fonts

    folder = tmp_path / "store"
    monkeypatch.setattr(instances, "_chosen", folder)
    slow = fonts._packaged_text_faces()

    def fontpkg_asked(change=lambda: None) -> bool:
        calls = []
        with monkeypatch.context() as patched:
            patched.setattr(fonts, "_packaged_text_faces", lambda: calls.append(1) or slow)
            fonts.text_faces.cache_clear()
            change()
            assert fonts.text_faces() == slow
        fonts.text_faces.cache_clear()
        return bool(calls)

    try:
        assert fontpkg_asked()  # the first run of an installation: recorded
        assert (folder / instances.TEXT_FACES_INDEX).is_file()
        assert not fontpkg_asked()
        index = folder / instances.TEXT_FACES_INDEX
        recorded = index.read_text(encoding="utf-8")
        assert fontpkg_asked(lambda: index.write_text(recorded.replace(str(slow[0].path.stat().st_size), "1", 1),
                                                       encoding="utf-8"))  # a file's stamp changed
        assert not fontpkg_asked()
        outside = tmp_path / slow[0].path.name
        outside.write_bytes(slow[0].path.read_bytes())
        stamp = instances._stamp(outside)
        assert fontpkg_asked(lambda: index.write_text(recorded.replace(str(slow[0].path), str(outside)).replace(
            instances._stamp(slow[0].path), stamp), encoding="utf-8"))  # a file outside the import path
        with monkeypatch.context() as patched:
            patched.setattr(instances, "_installation", lambda: "another installation")
            assert fontpkg_asked()
        assert not fontpkg_asked()  # both installations remembered
        assert fontpkg_asked(lambda: index.write_text("{not json", encoding="utf-8"))
        assert not fontpkg_asked()
        recorded = json.loads(index.read_text(encoding="utf-8"))
        for tampered in ({"weights": "100 900; } body { color: red"}, {"style": "oblique"}, {"family": "Other"}):
            entries = copy.deepcopy(recorded)
            for entry in entries.values():
                entry["faces"][0].update(tampered)
            assert fontpkg_asked(lambda entries=entries: index.write_text(json.dumps(entries), encoding="utf-8"))
        entries = copy.deepcopy(recorded)
        for entry in entries.values():
            del entry["faces"][-1]  # a face left out
        assert fontpkg_asked(lambda: index.write_text(json.dumps(entries), encoding="utf-8"))
        assert not fontpkg_asked()
    finally:
        fonts.text_faces.cache_clear()
