"""Broken and hostile Anki packages, made from real ones: each must be refused with one line, fast and small."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import zstandard


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _members(package: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def legacy_one(legacy: Path, target: Path) -> Path:
    """An Anki 2.0-style package (what genanki writes): collection.anki2 only, no meta, JSON media map."""
    m = _members(legacy)
    out = {"collection.anki2": m["collection.anki21"], "media": m["media"]}
    out.update({k: v for k, v in m.items() if k.isdigit()})
    return _zip(target, out)


def zstd_zeros(size: int) -> bytes:
    """An SQLite header followed by zeros, zstd-compressed: it looks like a collection until it never ends."""
    buf = io.BytesIO()
    with zstandard.ZstdCompressor(level=1).stream_writer(buf, closefd=False) as w:
        w.write(b"SQLite format 3\0")
        chunk = bytes(16 << 20)
        for _ in range(size // len(chunk)):
            w.write(chunk)
    return buf.getvalue()


def _patch_declared_size(path: Path, member: str, size: int) -> None:
    """Rewrite a member's declared uncompressed size in both its local and central headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + name_len].decode() == member:
            struct.pack_into("<I", data, pos + 24, size)
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))


def bad_packages(folder: Path, legacy: Path, current: Path) -> dict[str, Path]:
    """name → a package that must be refused (the names say why)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    out["not-a-zip"] = folder / "not-a-zip.apkg"
    out["not-a-zip"].write_text("front;back\nhello;world\n")
    out["empty"] = folder / "empty.apkg"
    out["empty"].write_bytes(b"")
    raw = current.read_bytes()
    out["truncated"] = folder / "truncated.apkg"
    out["truncated"].write_bytes(raw[: len(raw) // 2])
    out["no-collection"] = _zip(folder / "no-collection.apkg", {"media": b"{}", "0": b"hello"})
    lm = _members(legacy)
    out["corrupt-db"] = _zip(folder / "corrupt-db.apkg", {
        "collection.anki21": lm["collection.anki21"][:4096] + b"\xff" * 8192, "media": b"{}"})
    out["not-sqlite"] = _zip(folder / "not-sqlite.apkg", {"collection.anki2": b"garbage" * 100, "media": b"{}"})
    cm = _members(current)
    out["corrupt-zstd"] = _zip(folder / "corrupt-zstd.apkg", {
        "meta": cm["meta"], "collection.anki21b": cm["collection.anki21b"][:200] + b"\0" * 200, "media": cm["media"]})
    out["media-escape"] = _zip(folder / "media-escape.apkg", {
        "collection.anki21": lm["collection.anki21"], "media": json.dumps({"0": "../../escape.png"}).encode(),
        "0": b"\x89PNG\r\n\x1a\n"})
    out["media-absolute"] = _zip(folder / "media-absolute.apkg", {
        "collection.anki21": lm["collection.anki21"], "media": json.dumps({"0": "/etc/passwd"}).encode(),
        "0": b"x"})
    # A media member declaring 3 GiB (what a classic zip bomb looks like from its headers).
    bomb = _zip(folder / "bomb-declared.apkg", {"collection.anki21": lm["collection.anki21"],
                                                "media": json.dumps({"0": "x.png"}).encode(), "0": bytes(1 << 20)})
    _patch_declared_size(bomb, "0", 3 << 30)
    out["bomb-declared"] = bomb
    # A current-format collection whose zstd stream really inflates to 2 GiB: only a streaming cap finds it.
    out["bomb-zstd"] = _zip(folder / "bomb-zstd.apkg", {
        "meta": cm["meta"], "collection.anki21b": zstd_zeros(2 << 30), "media": cm["media"]})
    # A collection member whose header lies about its size (small declared, 64 MiB of real data).
    liar = _zip(folder / "bomb-lying.apkg", {"collection.anki21": b"SQLite format 3\0" + bytes(64 << 20),
                                             "media": b"{}"})
    _patch_declared_size(liar, "collection.anki21", 4096)
    out["bomb-lying"] = liar
    return out
