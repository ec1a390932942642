"""A mutation check: remove or loosen each part of the render cache's key, of the sanitisers' allow-lists and of
the limits, once, and run the tests that guard it. A mutant is *killed* when a test fails; one that survives is a
feature no test would notice missing.

    python -m tests.mutants            # every mutant (about half an hour on two cores)
    python -m tests.mutants --list     # their names
    python -m tests.mutants onerror    # the mutants whose name holds any of the words given

Each mutant is one textual change of one source file (the text to change must occur exactly once), made in a
temporary copy of the package and the tests (``PYTHONPATH`` points the tests, and every process they start, at the
copy): the checkout is never edited, so an interrupted run leaves nothing behind. Each group of guarding tests is
first run without a mutant and must be green; each caught mutant is printed with the first test that failed. It is
not part of the test suite: it runs each guarding test file once per mutant (about 50 of them).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qaexport"


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # relative to qaexport/
    old: str
    new: str
    tests: tuple[str, ...]


CACHE_TESTS = ("tests/test_render_cache.py",)
SANITISER_TESTS = ("tests/test_render.py", "tests/test_anki_safety.py", "tests/test_apkg.py",
                   "tests/test_markdown_bank.py::test_hostile_markdown_is_as_inert_as_payloads",
                   "tests/test_hardening.py")
LIMIT_TESTS = ("tests/test_limits.py", "tests/test_hostile_input.py", "tests/test_apkg.py",
               "tests/test_cloze_images_math.py")


def _times_1000(name: str, file: str, definition: str) -> Mutant:
    """``NAME = value`` → ``NAME = (value) * 1000``."""
    const, value = definition.split(" = ", 1)
    return Mutant(name, file, definition, f"{const} = ({value}) * 1000", LIMIT_TESTS)


MUTANTS = [
    # --- the render cache's key (render/__init__.py builds it, render/cache.py hashes it)
    Mutant("cache key: answer text", "render/__init__.py", "_kind(q), q.question, q.answer)",
           '_kind(q), q.question, "")', CACHE_TESTS),
    Mutant("cache key: question text", "render/__init__.py", "_kind(q), q.question, q.answer)",
           '_kind(q), "", q.answer)', CACHE_TESTS),
    Mutant("cache key: content format", "render/cache.py", 'h.update(f"\\0{fmt}\\0{len(q)}\\0".encode())',
           'h.update(f"\\0{len(q)}\\0".encode())', CACHE_TESTS),
    Mutant("cache key: theme classes", "render/__init__.py",
           "{renderer.highlighter.signature(s is Scheme.PORTABLE)}", "", CACHE_TESTS),
    Mutant("cache key: media names", "render/__init__.py", "{media_names if f is ContentFormat.HTML else ''}", "",
           CACHE_TESTS),
    Mutant("cache key: Pygments version", "render/cache.py", '"pygments", "nh3",', '"nh3",', CACHE_TESTS),
    Mutant("cache key: markdown-it version", "render/cache.py", '_LIBRARIES = ("markdown_it", ', "_LIBRARIES = (",
           CACHE_TESTS),
    Mutant("cache key: nh3 version", "render/cache.py", '"pygments", "nh3",', '"pygments",', CACHE_TESTS),
    Mutant("cache key: mdit-py-plugins version", "render/cache.py", '"nh3", "mdit_py_plugins",', '"nh3",',
           CACHE_TESTS),
    Mutant("cache key: latex2mathml version", "render/cache.py", '"mdit_py_plugins", "latex2mathml",',
           '"mdit_py_plugins",', CACHE_TESTS),
    Mutant("cache key: ziamath version", "render/cache.py", '"ziamath", "ziafont")', '"ziafont")',
           CACHE_TESTS),
    Mutant("cache key: renderer version constant", "render/cache.py",
           'parts = [f"qaexport-render-{RENDERER_VERSION}", ', "parts = [", CACHE_TESTS),
    Mutant("cache key: Python version", "render/cache.py",
           ', f"python-{sys.version_info[0]}.{sys.version_info[1]}"]', "]", CACHE_TESTS),
    Mutant("cache key: renderer source", "render/cache.py", "parts.append(source.hexdigest())", "pass",
           CACHE_TESTS),
    Mutant("cache entry: CRC check", "render/cache.py", "zlib.crc32(a, zlib.crc32(q)) != crc", "False",
           CACHE_TESTS),
    _times_1000("cache: size bound ×1000", "render/cache.py", "DEFAULT_MAX_BYTES = 256 * 1024 * 1024"),
    # --- the sanitisers: HTML from Anki cards (formats/html.py), the package reader's own pass (what convert
    #     writes), the Markdown renderer, the texts stored in Anki notes
    Mutant("apkg reader: onerror allowed on img", "sources/apkg_reading.py",
           '"img": {"src", "alt", "title", "width", "height"},', '"img": {"src", "alt", "title", "width", "height", '
           '"onerror"},', SANITISER_TESTS),
    Mutant("apkg reader: script content kept", "sources/apkg_reading.py", 'clean_content_tags={"script", "style"}',
           "clean_content_tags=set()", SANITISER_TESTS),
    Mutant("apkg reader: any URL scheme", "sources/apkg_reading.py", 'url_schemes={"http", "https", "mailto"}',
           'url_schemes={"http", "https", "mailto", "javascript", "file"}', SANITISER_TESTS),
    Mutant("sanitiser: onerror allowed on img", "formats/html.py", '"img": {"src", "alt", "title", "width", "height"}',
           '"img": {"src", "alt", "title", "width", "height", "onerror"}', SANITISER_TESTS),
    Mutant("sanitiser: style allowed on span", "formats/html.py", '"span": {"class"},', '"span": {"class", "style"},',
           SANITISER_TESTS),
    Mutant("sanitiser: iframe allowed", "formats/html.py", '\nTAGS = frozenset({\n    "a",',
           '\nTAGS = frozenset({\n    "iframe", "a",', SANITISER_TESTS),
    Mutant("sanitiser: script content kept", "formats/html.py", '"script", "style", "iframe", "object",',
           '"style", "iframe", "object",', SANITISER_TESTS),
    Mutant("sanitiser: any link", "formats/html.py", "return value if _LINK.fullmatch(value.strip()) else None",
           "return value", SANITISER_TESTS),
    Mutant("sanitiser: any image source", "formats/html.py", "return value if value in media else None",
           "return value", SANITISER_TESTS),
    Mutant("sanitiser: any class", "formats/html.py", 'return " ".join(kept) or None', "return value",
           SANITISER_TESTS),
    Mutant("sanitiser: javascript scheme", "formats/html.py", 'URL_SCHEMES = frozenset({"http", "https", "mailto"})',
           'URL_SCHEMES = frozenset({"http", "https", "mailto", "javascript"})', SANITISER_TESTS),
    Mutant("markdown: any link scheme", "render/markdown.py",
           "return self.reading_image or url.strip().lower().startswith(_SAFE_SCHEMES)", "return True",
           SANITISER_TESTS),
    Mutant("markdown: raw HTML on", "render/markdown.py", '{"html": False, "xhtmlOut": True, "linkify": True}',
           '{"html": True, "xhtmlOut": True, "linkify": True}', SANITISER_TESTS),
    Mutant("markdown: any image source", "render/markdown.py",
           'name = env.get("images", {}).get(token.attrGet("src") or "")', 'name = token.attrGet("src") or ""',
           SANITISER_TESTS),
    Mutant("markdown: invisible characters kept", "characters.py",
           'text = _SURROGATE.sub("\\ufffd", _dropped(text))', 'text = _SURROGATE.sub("\\ufffd", text)',
           SANITISER_TESTS),
    Mutant("anki fields: sound/latex markup live", "exporters/anki/text.py",
           'return _OPENS_ANKI_MARKUP.sub("&#91;", fragment) if "[" in fragment else fragment', "return fragment",
           SANITISER_TESTS),
    Mutant("anki fields: MathJax delimiters live", "exporters/anki/text.py",
           "fragment = _wrap_mathjax_outside_code(fragment)", "pass", SANITISER_TESTS),
    Mutant("anki fields: names not escaped", "exporters/anki/text.py", "return inert(html.escape(text, quote=True))",
           "return inert(text)", SANITISER_TESTS),
    # --- limits: each loosened a thousandfold
    _times_1000("limit: zip inflation ratio ×1000", "formats/anki_archive.py", "MAX_RATIO = 1_000"),
    _times_1000("limit: zip member size ×1000", "formats/anki_archive.py", "MAX_MEMBER = 512 * 2**20"),
    _times_1000("limit: zip declared total ×1000", "formats/anki_archive.py", "MAX_DECLARED_TOTAL = 4 * 2**30"),
    _times_1000("limit: zip members ×1000", "formats/anki_archive.py", "MAX_MEMBERS = 200_000"),
    _times_1000("limit: collection size ×1000", "formats/anki_archive.py", "MAX_COLLECTION = 256 * 2**20"),
    _times_1000("limit: zstd window ×1000", "formats/anki_archive.py", "MAX_ZSTD_WINDOW = 2**26"),
    _times_1000("limit: one image ×1000", "formats/images.py", "MAX_IMAGE_BYTES = 16 * 2**20"),
    _times_1000("limit: all images ×1000", "formats/images.py", "MAX_IMAGES_TOTAL = 192 * 2**20"),
    _times_1000("limit: image pixels ×1000", "formats/images.py", "MAX_PIXELS = 40_000_000"),
    _times_1000("limit: SVG elements ×1000", "formats/images.py", "MAX_SVG_ELEMENTS = 50_000"),
    _times_1000("limit: cloze deletions ×1000", "formats/cloze.py", "MAX_DELETIONS = 500"),
    _times_1000("limit: cloze number ×1000", "formats/cloze.py", "MAX_NUMBER = 500"),
    _times_1000("limit: media map ×1000", "formats/anki_archive.py", "MAX_MEDIA_MAP = 16 * 2**20"),
    _times_1000("limit: Markdown file size ×1000", "sources/markdown/__init__.py", "MAX_BYTES = 32 * 1024 * 1024"),
    _times_1000("limit: payload file size ×1000", "sources/nuxt.py", "MAX_BYTES = 32 * 1024 * 1024"),
    _times_1000("limit: front matter ×1000", "formats/markdown_bank.py", "MAX_FRONT_MATTER_BYTES = 64 * 1024"),
    _times_1000("limit: question length ×1000", "limits.py", "MAX_QUESTION_CHARS = 5_000"),
    _times_1000("limit: answer length ×1000", "limits.py", "MAX_ANSWER_CHARS = 200_000"),
    _times_1000("limit: id length ×1000", "model.py", "MAX_ID_CHARS = 120"),
    _times_1000("limit: payload nesting ×1000", "sources/devalue.py", "MAX_DEPTH = 100"),
    _times_1000("limit: ledger notes ×1000", "exporters/anki/ledger.py", "MAX_ROWS = 200_000"),
    _times_1000("limit: deck bank member ×1000", "formats/anki_package.py", "MAX_BANK_BYTES = 48 * 2**20"),
    Mutant("limit: deck bank density", "formats/anki_package.py",
           "if containers * BYTES_PER_CONTAINER > len(data) or values * BYTES_PER_VALUE > len(data):", "if False:",
           LIMIT_TESTS),
    _times_1000("limit: formula length ×1000", "formats/math.py", "MAX_TEX_CHARS = 4_000"),
    _times_1000("limit: formula depth ×1000", "formats/math.py", "MAX_TEX_DEPTH = 50"),
    _times_1000("limit: media folders above a bank ×1000", "sources/markdown/__init__.py", "MAX_MEDIA_LEVELS = 8"),
    _times_1000("limit: previous deck's note types ×1000", "exporters/anki/collection.py",
                "MAX_MODELS_BYTES = 16 * 2**20"),
    _times_1000("limit: config file ×1000", "cli/config.py", "MAX_CONFIG_BYTES = 1024 * 1024"),
    _times_1000("limit: expansion ratio ×1000", "limits.py", "EXPANSION_RATIO = 8"),
    _times_1000("limit: expansion floor ×1000", "limits.py", "EXPANSION_FLOOR = 32 * 2**20"),
    _times_1000("limit: HTML nesting ×1000", "limits.py", "MAX_HTML_NESTING = 100"),
    _times_1000("limit: front matter numbers ×1000", "formats/markdown_bank.py", "MAX_NUMBER_CHARS = 40"),
]


#: The memory each process of a mutant's tests may take (RLIMIT_DATA, inherited by every process they start): a
#: test whose input followed a loosened limit took 16-24 GiB once and was killed by the system, with whatever else
#: ran beside it; over this it fails with MemoryError, which kills the mutant. Chromium and the JVM run under it.
MEMORY_CAP = 8 * 2**30


def _cap_memory() -> None:
    import resource

    hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
    soft = MEMORY_CAP if hard == resource.RLIM_INFINITY else min(MEMORY_CAP, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _pytest(tests: tuple[str, ...], copy: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests], cwd=copy,
                          env={**os.environ, "PYTHONPATH": str(copy)}, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=_cap_memory if os.name == "posix" else None)


def run(mutant: Mutant, copy: Path, timeout: float = 1200) -> tuple[str, str]:
    """("killed", the test that failed), ("timeout", ""), ("survived", "") or ("invalid", why): the change did not
    apply, or the tests could not even start. Made in ``copy`` (see :func:`copy_tree`) and undone."""
    path = copy / "qaexport" / mutant.file
    original = path.read_text(encoding="utf-8")
    if original.count(mutant.old) != 1:
        return "invalid", "the text to change is not there exactly once"
    try:
        path.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
        proc = _pytest(mutant.tests, copy, timeout)
    except subprocess.TimeoutExpired:
        return "timeout", ""  # the tests no longer finish: counted as caught (a bound that no longer bounds)
    finally:
        path.write_text(original, encoding="utf-8")
    if proc.returncode == 1:
        failed = next((line.split()[1] for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))),
                      "?")
        return "killed", failed
    return ("survived", "") if proc.returncode == 0 else ("invalid", proc.stdout[-300:])


def copy_tree(into: Path) -> Path:
    """The checkout's files (package, tests, data, docs, pyproject.toml...; not .git, the venv or outputs), copied
    into ``into``."""
    shutil.copytree(ROOT, into, dirs_exist_ok=True, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", "dist", "__pycache__", ".pytest_cache",
                                                  ".ruff_cache", "*.egg-info"))
    return into


def _imports_the_copy(copy: Path) -> bool:
    """Whether a process started like the mutants' tests imports the package from the copy (not the checkout)."""
    env = {**os.environ, "PYTHONPATH": str(copy)}
    out = subprocess.run([sys.executable, "-c", "import qaexport; print(qaexport.__file__)"], cwd=copy, env=env,
                         capture_output=True, text=True, timeout=60).stdout.strip()
    return Path(out).resolve().is_relative_to(copy.resolve())


def main(argv: list[str]) -> int:
    if "--list" in argv:
        print("\n".join(m.name for m in MUTANTS))
        return 0
    chosen = [m for m in MUTANTS if not argv or any(word.lower() in m.name.lower() for word in argv)]
    results: dict[str, list[str]] = {"killed": [], "survived": [], "invalid": []}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the copy is removed on a kill too
    with tempfile.TemporaryDirectory(prefix="qaexport-mutants-") as tmp:
        copy = copy_tree(Path(tmp))
        if not _imports_the_copy(copy):
            print("the tests would import qaexport from elsewhere than the copy; nothing run")
            return 2
        for tests in dict.fromkeys(m.tests for m in chosen):  # every guarding group green before any mutant
            start = time.monotonic()
            proc = _pytest(tests, copy, 3600)
            print(f"baseline {time.monotonic() - start:6.0f} s  {' '.join(tests)}", flush=True)
            if proc.returncode != 0:
                print(f"red without a mutant; nothing run:\n{proc.stdout[-2000:]}")
                return 2
        for mutant in chosen:
            start = time.monotonic()
            outcome, detail = run(mutant, copy)
            results["killed" if outcome == "timeout" else outcome].append(mutant.name)
            print(f"{outcome:8} {time.monotonic() - start:6.0f} s  {mutant.name}  {detail}", flush=True)
    valid = len(results["killed"]) + len(results["survived"])
    print(f"score: {len(results['killed'])}/{valid} killed"
          + (f"; {len(results['invalid'])} invalid: {', '.join(results['invalid'])}" if results["invalid"] else ""))
    return 0 if not results["survived"] and not results["invalid"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
