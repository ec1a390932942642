"""Pillow loaded when WeasyPrint first uses it (weasy/compat_pillow.py), and WeasyPrint's release read without
``importlib.metadata`` (weasy/release.py): a book of text never loads either, a book with a raster image loads Pillow
then, with WeasyPrint's settings made on it, and the PDFs are the same bytes as with Pillow loaded up front. Each case
runs in a fresh interpreter (nothing imported yet)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from qaexport.weasy import compat_pillow, release

TEXT = "<h1>Plain</h1><p>Latin text, <b>bold</b>, <i>italic</i> and <code>code()</code>.</p>"
PICTURE = TEXT + '<p><img src="dot.png" style="width: 2cm"></p>'


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 90)).save(out, "PNG")
    return out.getvalue()


def _book(tmp_path: Path, html: str, name: str, up_front: bool) -> dict:
    """Lay out and draw ``html`` with the book's faces in a fresh interpreter (``up_front``: Pillow's modules imported
    before WeasyPrint, as without the deferral): the PDF's bytes, which modules are still stand-ins, the settings
    WeasyPrint made on Pillow, and whether ``importlib.metadata`` was loaded."""
    target = tmp_path / f"{name}.pdf"
    code = f"""
import json, sys
from pathlib import Path
{"import PIL.Image, PIL.ImageCms, PIL.ImageFile, PIL.ImageOps, PIL.EpsImagePlugin" if up_front else ""}
from qaexport.books.fonts import faces_for, font_face_css
from qaexport.model import Media
from qaexport.weasy import compat_pillow, layout
metadata = "importlib.metadata" in sys.modules
html = {html!r}
faces = faces_for(html)
media = {{"dot.png": Media("dot.png", bytes.fromhex({_png().hex()!r}), "image/png")}}
layout.write_pdf(html, font_face_css(faces), "id", Path({str(target)!r}), lambda _n: None, media=media,
                 files={{face.uri: face.path for face in faces}})
deferred = {{name: compat_pillow.deferred(name) for name in compat_pillow.DEFERRED}}
settings = None
if not any(deferred.values()):
    import PIL.EpsImagePlugin, PIL.ImageFile
    settings = [PIL.ImageFile.LOAD_TRUNCATED_IMAGES, PIL.EpsImagePlugin.gs_binary]
print(json.dumps({{"deferred": deferred, "settings": settings, "metadata": metadata}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
    assert result.returncode == 0, result.stderr
    return {"pdf": target.read_bytes(), **json.loads(result.stdout.splitlines()[-1])}


def test_a_book_of_text_never_loads_pillow_and_prints_the_same_bytes(tmp_path):
    deferred = _book(tmp_path, TEXT, "deferred", up_front=False)
    assert all(deferred["deferred"].values()), deferred["deferred"]
    assert deferred["metadata"] is False  # WeasyPrint's release read from its metadata folder's name
    loaded = _book(tmp_path, TEXT, "loaded", up_front=True)
    assert not any(loaded["deferred"].values())
    assert deferred["pdf"] == loaded["pdf"]


def test_a_raster_image_loads_pillow_with_weasyprints_settings_and_prints_the_same_bytes(tmp_path):
    deferred = _book(tmp_path, PICTURE, "deferred", up_front=False)
    assert not any(deferred["deferred"].values())  # the image's decoding loaded every module
    assert deferred["settings"] == [True, False]  # ImageFile.LOAD_TRUNCATED_IMAGES, EpsImagePlugin.gs_binary
    loaded = _book(tmp_path, PICTURE, "loaded", up_front=True)
    assert loaded["settings"] == [True, False]
    assert deferred["pdf"] == loaded["pdf"]


def test_a_stand_in_gives_the_real_module_and_the_forwarder_the_real_class():
    code = """
import sys
from qaexport.weasy import compat_pillow
compat_pillow.defer()
from PIL import Image, ImageFile
import PIL.ImageCms
from PIL.ImageCms import ImageCmsProfile
ImageFile.LOAD_TRUNCATED_IMAGES = True
assert compat_pillow.deferred("PIL.Image") and compat_pillow.deferred("PIL.ImageCms")
assert PIL.ImageCms is sys.modules["PIL.ImageCms"]  # on the package as well
picture = Image.new("L", (2, 2))  # the first use loads all five
assert not any(compat_pillow.deferred(name) for name in compat_pillow.DEFERRED)
import PIL.Image as real, PIL.ImageFile as real_file, PIL.ImageCms as real_cms
assert isinstance(picture, real.Image) and sys.modules["PIL"].Image is real and real_file.LOAD_TRUNCATED_IMAGES
profile = ImageCmsProfile(real_cms.createProfile("sRGB"))  # the forwarding function makes the real class's
assert isinstance(profile, real_cms.ImageCmsProfile)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr


def test_nothing_is_deferred_once_weasyprint_is_loaded():
    import weasyprint  # noqa: F401  (this test process has it)

    assert not compat_pillow.applies()


def test_the_release_read_from_the_metadata_folder_is_the_one_importlib_metadata_reads(tmp_path, monkeypatch):
    from importlib.metadata import version

    assert release.installed_release() == version("weasyprint")
    # A folder first on the path with another release's wheel metadata is the one read, as importlib.metadata does;
    # with two metadata folders there, importlib.metadata decides.
    (tmp_path / "weasyprint-67.1.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    assert release.installed_release() == "67.1"
    (tmp_path / "WeasyPrint-66.0.dist-info").mkdir()
    monkeypatch.setattr(release, "_release_from_metadata", lambda: "asked")
    assert release.installed_release() == "asked"
