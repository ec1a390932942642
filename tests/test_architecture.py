"""The shape of the code: no import cycles, one clock, a fetcher that fetches nothing, reproducible builds."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qaexport"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    """Modules of this package that ``module`` imports anywhere (lazy imports included), except for typing."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("qaexport")}
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rsplit(".", 1)[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            if not target.startswith("qaexport"):
                continue
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}
    return found


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {m: {i for i in _imports(p, m) if i in files and i != m} for m, p in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # a package's __init__ importing its own submodule is how packages work, not a cycle
            if node.startswith(nxt + ".") or nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert "qaexport.exporters.anki.collection" in graph["qaexport.exporters.anki"]
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


# --- layers: data flows one way -------------------------------------------------------------------

SOURCES, RENDER, CLI, EXPORTERS = "qaexport.sources", "qaexport.render", "qaexport.cli", "qaexport.exporters"
FORMATS, BOOKS, WEASY = "qaexport.formats", "qaexport.books", "qaexport.weasy"
PREVIEW = "qaexport.preview"  # `qaexport serve`: above the exporters, below the CLI
#: What each layer may never import (a module of the layer, or any module below it).
FORBIDDEN = {
    FORMATS: (SOURCES, "qaexport.assemble", RENDER, EXPORTERS, BOOKS, WEASY, CLI, PREVIEW),
    SOURCES: (RENDER, EXPORTERS, BOOKS, WEASY, CLI, PREVIEW),
    RENDER: (SOURCES, EXPORTERS, BOOKS, WEASY, CLI, PREVIEW),
    BOOKS: (SOURCES, EXPORTERS, WEASY, CLI, PREVIEW),
    WEASY: (SOURCES, EXPORTERS, BOOKS, CLI, PREVIEW),
    EXPORTERS: (PREVIEW,),
    PREVIEW: (CLI,),
}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def exporter_package(module: str) -> str | None:
    """``qaexport.exporters.anki`` for any module of the Anki exporter; None for the exporters' base module."""
    parts = module.split(".")
    return ".".join(parts[:3]) if _within(module, EXPORTERS) and len(parts) > 2 else None


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import that goes the wrong way: an exporter importing another exporter, a source or the CLI (the
    exporters' base importing any exporter); a lower layer importing a higher one."""
    found = []
    for module, imports in sorted(graph.items()):
        own = exporter_package(module)
        for target in sorted(imports):
            if _within(module, EXPORTERS):
                other = exporter_package(target)
                if other is not None and other != own:
                    found.append(f"{module} imports another exporter: {target}")
                if _within(target, SOURCES) or _within(target, CLI):
                    found.append(f"{module} imports {target}")
            if _within(target, "qaexport.testing") and not _within(module, "qaexport.testing"):
                found.append(f"{module} imports the plugin test helpers: {target}")
            for layer, banned in FORBIDDEN.items():
                if _within(module, layer) and any(_within(target, b) for b in banned):
                    found.append(f"{module} imports {target}")
    return found


def test_every_exporter_is_a_package_and_imports_go_one_way():
    graph = import_graph()
    packages = {exporter_package(m) for m in graph} - {None}
    assert {"qaexport.exporters.anki", "qaexport.exporters.pdf", "qaexport.exporters.epub",
            "qaexport.exporters.cards", "qaexport.exporters.markdown_bank", "qaexport.exporters.site"} <= packages
    flat = [p.name for p in (PACKAGE / "exporters").glob("*.py") if p.name != "__init__.py"]
    assert flat == [], "an exporter is a package (exporters/<name>/__init__.py), not a module"
    assert layer_violations(graph) == []


@pytest.mark.parametrize(("module", "target"), [
    ("qaexport.exporters.pdf", "qaexport.exporters.cards.geometry"),  # another exporter
    ("qaexport.exporters.cards.layout", "qaexport.exporters.pdf"),
    ("qaexport.exporters.markdown_bank", "qaexport.sources.markdown"),  # a source
    ("qaexport.exporters.anki", "qaexport.cli.common"),  # the CLI
    ("qaexport.exporters", "qaexport.exporters.anki"),  # the base, any exporter
    ("qaexport.weasy.layout", "qaexport.exporters.pdf"),  # the engine, its users
    ("qaexport.books.html", "qaexport.exporters.epub"),
    ("qaexport.sources.apkg", "qaexport.render"),  # a source, the renderer
    ("qaexport.formats.markdown_bank", "qaexport.sources.apkg"),  # a format, its reader
    ("qaexport.cli.export", "qaexport.testing"),  # the product, the plugin test helpers
])
def test_the_layer_check_sees_each_wrong_import(module, target):
    graph = import_graph()
    assert layer_violations({**graph, module: {*graph.get(module, ()), target}}) != []
    assert layer_violations({**graph, module: {*graph.get(module, ()), "qaexport.model"}}) == []


# --- WeasyPrint: its public API everywhere but weasy/compat -----------------------------------------

#: WeasyPrint's documented API (its api_reference.rst: "Everything described here is considered public"),
#: module → names; its loggers are public by name (``logging.getLogger("weasyprint")``).
WEASYPRINT_PUBLIC = {
    "weasyprint": {"HTML", "CSS", "Attachment", "DEFAULT_OPTIONS", "Document", "DocumentMetadata", "Page"},
    "weasyprint.document": {"Document", "DocumentMetadata", "Page"},
    "weasyprint.urls": {"URLFetcher", "URLFetcherResponse", "FatalURLFetchingError"},
    "weasyprint.text.fonts": {"FontConfiguration"},
    "weasyprint.css.counters": {"CounterStyle"},
}


def _weasyprint_private_names() -> set[str]:
    """Every ``_name`` WeasyPrint defines (functions, methods, classes, attributes): naming one is reaching in."""
    import weasyprint

    names: set[str] = set()
    for path in Path(weasyprint.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node, "name", None) if isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else None
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                name = node.id
            if name and name.startswith("_") and not name.startswith("__"):
                names.add(name)
    return names


def _weasyprint_subclasses(tree: ast.AST) -> list[ast.ClassDef]:
    """Classes built on a WeasyPrint class (their methods may override WeasyPrint's private ones)."""
    imported = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and (node.module or "").split(".")[0] == "weasyprint" for a in node.names}
    return [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
            and any(ast.unparse(b).split(".")[0] in imported | {"weasyprint"} for b in node.bases)]


def own_private_names(sources: list[str]) -> set[str]:
    """The ``_names`` qaexport defines itself (functions, classes, attributes it sets), except overrides of
    WeasyPrint's methods: ``obj._name`` with one of these is qaexport's own, not WeasyPrint's."""
    names: set[str] = set()
    for source in sources:
        tree = ast.parse(source)
        overrides = {id(f) for c in _weasyprint_subclasses(tree) for f in c.body if isinstance(f, ast.FunctionDef)}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and id(node) not in overrides:
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {n for n in names if n.startswith("_")}


def private_weasyprint_uses(source: str, private: set[str], own: set[str] = frozenset()) -> list[str]:
    """What ``source`` names of WeasyPrint beyond its public API: imports of undocumented modules or names, an
    override of one of WeasyPrint's private methods, a use of one of its private names (one qaexport does not
    define itself), an undocumented ``weasyprint.x.y``."""
    tree = ast.parse(source)
    found = [f"line {f.lineno}: def {f.name} overrides WeasyPrint's" for c in _weasyprint_subclasses(tree)
             for f in c.body if isinstance(f, ast.FunctionDef) and f.name in private]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "weasyprint":
            public = WEASYPRINT_PUBLIC.get(node.module or "", set())
            found += [f"from {node.module} import {a.name}" for a in node.names if a.name not in public]
        elif isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names
                      if a.name.split(".")[0] == "weasyprint" and a.name not in WEASYPRINT_PUBLIC]
        elif isinstance(node, ast.Attribute) and node.attr in private - own:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Attribute) and ast.unparse(node).startswith("weasyprint."):
            module, _, name = ast.unparse(node).rpartition(".")
            if name not in WEASYPRINT_PUBLIC.get(module, {name}):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_but_weasy_compat_names_a_private_weasyprint_symbol():
    private = _weasyprint_private_names()
    assert {"_ua_stylesheets", "_build_layout_context"} <= private  # the walk finds WeasyPrint's private names
    compat = PACKAGE / "weasy" / "compat.py"
    modules = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py") if p != compat}
    own = own_private_names(list(modules.values()))
    offenders = {name: found for name, source in modules.items()
                 if (found := private_weasyprint_uses(source, private, own))}
    assert offenders == {}
    # The check sees what compat does (so it would see it anywhere else).
    assert private_weasyprint_uses(compat.read_text(encoding="utf-8"), private, own)


@pytest.mark.parametrize("source", [
    "from weasyprint.html import UA_STYLESHEET",
    "from weasyprint.logger import LOGGER",
    "import weasyprint.layout",
    "from weasyprint import HTML\nclass Lean(HTML):\n    def _ua_stylesheets(self):\n        return []",
    "import weasyprint\nsheet = weasyprint.html.UA_STYLESHEET",
    "def f(document):\n    return document._build_layout_context",
])
@pytest.mark.slow
def test_the_weasyprint_check_sees_each_kind_of_reach(source):
    assert private_weasyprint_uses(source, _weasyprint_private_names()) != []
    assert private_weasyprint_uses("from weasyprint import CSS, HTML\nfrom weasyprint.urls import URLFetcher\n"
                                   "doc = HTML(string='x').render()", _weasyprint_private_names()) == []


def test_only_the_cli_reads_the_environment_and_the_clock():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        text = path.read_text(encoding="utf-8")
        if path == PACKAGE / "launch.py":  # the command's first step, before the command line loads: the environment
            text = text.replace("os.environ.get(\"QAEXPORT_CACHE_DIR\"", "").replace("os.environ.items()", "", 1)
        for needle in ("os.environ", "getenv(", "time.time(", "datetime.now(", "date.today("):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []


def private_reaches(source: str) -> list[str]:
    """Uses of Typer's, Click's or the interpreter's private names (``typer._coercion``, ``core._TyperParameter``
    after ``from typer import core``, ``atexit._run_exitfuncs``, ``os._exit``)."""
    tree = ast.parse(source)
    libraries = {"typer", "click", "atexit", "os"}
    bound = set(libraries)  # names that stand for one of these libraries or their modules
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in libraries - {"os"}:
            for alias in node.names:
                if any(part.startswith("_") for part in [*(node.module or "").split("."), alias.name]):
                    found.append(f"from {node.module} import {alias.name}")
                bound.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in libraries:
                    if any(part.startswith("_") for part in alias.name.split(".")):
                        found.append(f"import {alias.name}")
                    bound.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in bound:
                found.append(ast.unparse(node))
    return found


def test_no_private_typer_or_interpreter_exit():
    """Typer's internals and the interpreter's private exit are reached by nothing (benchmarks/bench.py's
    start-up case has the figures that decided it)."""
    offenders = {str(p.relative_to(ROOT)): found for p in PACKAGE.rglob("*.py")
                 if (found := private_reaches(p.read_text(encoding="utf-8")))}
    assert offenders == {}


@pytest.mark.parametrize("source", [
    "from typer import core\noriginal = core._TyperParameter.get_runtime_param",
    "from typer._coercion import RuntimeParam",
    "import atexit\natexit._run_exitfuncs()",
    "import os\nos._exit(0)",
    "import typer.main\ntyper.main._parse",
])
def test_the_private_reach_check_sees_each_kind(source):
    assert private_reaches(source) != []
    assert private_reaches("import os, sys\nfrom typer.core import TyperGroup\nos.getcwd()\nsys.exit(0)") == []


def test_no_private_genanki_modules():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "apkg_col" not in text and "apkg_schema" not in text, path


# --- the PDF fetcher, through the function the exporter lays out with ------------------------------

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0000003"
    "0101001ea0f2ad0000000049454e44ae426082")


def _layout(html: str, target: Path) -> int:
    from qaexport.weasy.layout import write_pdf

    write_pdf(html, "", "0" * 32, target, lambda _step: None)
    return sum(len(page.images) for page in PdfReader(target).pages)


def test_pdf_layout_fetches_nothing_the_html_asks_for(tmp_path, monkeypatch):
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    html = f'<html><body><p>x</p><img src="file://{secret}" style="width:20px"></body></html>'
    assert _layout(html, tmp_path / "refused.pdf") == 0

    # The control: with a fetcher that fetches, the same HTML embeds the images. If the exporter's
    # fetcher ever fetched, the first assertion would see this.
    import weasyprint

    from qaexport.weasy import layout as pdf_layout

    monkeypatch.setattr(pdf_layout, "MediaFetcher", lambda *_args: weasyprint.URLFetcher())  # the HTML's fetcher
    assert _layout(html, tmp_path / "fetched.pdf") == 1


# --- reproducible builds: two separate processes, different wall-clock times -----------------------

def _build_all(out: Path) -> dict[str, bytes]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run([sys.executable, "-m", "qaexport", "all", str(ROOT / "data"), "-o", f"{out}/"], env=env,
                   check=True, capture_output=True, timeout=300)
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_builds_in_separate_processes_at_different_times_are_byte_identical(tmp_path):
    first = _build_all(tmp_path / "one")
    time.sleep(2.2)  # a build that read the wall clock anywhere would differ now
    second = _build_all(tmp_path / "two")
    assert sorted(name for name in first if "/" not in name) == [
        "fastapi-deployment.apkg", "fastapi-deployment.epub", "fastapi-deployment.pdf"]
    assert "fastapi-deployment-site/index.html" in first  # the study site, every file of it compared below
    for name in first:
        assert first[name] == second[name], name


@pytest.mark.parametrize("bad", ["soon", "1.5e9", "99999999999", "-5"])
def test_a_bad_source_date_epoch_is_a_usage_error(bad, tmp_path):
    env = {**os.environ, "SOURCE_DATE_EPOCH": bad}
    result = subprocess.run([sys.executable, "-m", "qaexport", "epub", str(ROOT / "data"), "-o", str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: SOURCE_DATE_EPOCH={bad!r} is "), result.stderr
    assert "not a whole number" in lines[0] or "outside 1970–2099" in lines[0]


def test_pdf_layout_reports_each_page_as_it_is_laid_out(tmp_path):
    """The progress bar of a long layout moves with the pages (WeasyPrint's slow step), once per page."""
    from qaexport.weasy.layout import write_pdf

    calls: list[int] = []
    html = "<html><body>" + "".join(f'<p style="break-after:page">page {i}</p>' for i in range(12)) + \
        "</body></html>"
    write_pdf(html, "", "0" * 32, tmp_path / "pages.pdf", calls.append)
    pages = len(PdfReader(tmp_path / "pages.pdf").pages)
    assert pages == 12
    assert sum(calls) == pages and len(calls) >= pages  # one step per page, never a jump to the end


def test_forked_work_reports_progress_and_fails_in_one_line():
    from qaexport.errors import OutputError
    from qaexport.forked import run_forked

    seen: list[int] = []
    assert run_forked(lambda report: [report(n) for n in (1, 2, 3)] and "done", seen.append, str) == "done"
    assert seen == [1, 2, 3]
    with pytest.raises(OutputError, match=r"^layout of {x}\.pdf failed \(ZeroDivisionError: division by zero\)$"):
        run_forked(lambda report: 1 / 0, seen.append, lambda cause: f"layout of {{x}}.pdf failed ({cause})")


def test_a_forked_child_never_finalizes_the_garbage_its_parent_left(tmp_path):
    """Garbage this process has not collected yet (a cycle whose finalizer would wait for threads the child does
    not have, as Anki's backend after a sync does) is finalized here, never in a child that collects."""
    import gc
    import os

    from qaexport.forked import run_forked

    finalized_in = tmp_path / "finalized-in"

    class Finalized:
        def __del__(self) -> None:
            with finalized_in.open("a") as out:
                out.write(f"{os.getpid()}\n")

    gc.disable()  # the cycle stays uncollected garbage until the child has run
    try:
        cycle = Finalized()
        cycle.me = cycle
        del cycle
        child = run_forked(lambda _report: (gc.collect(), os.getpid())[1], lambda _value: None, str)
    finally:
        gc.enable()
    gc.collect()
    assert child != os.getpid()
    assert finalized_in.read_text().split() == [str(os.getpid())]


def test_forked_works_at_most_so_many_at_once():
    """``at_once``: the next child starts as one ends, never more running together; results in order.

    Counted here, in this process, with no race and no wait: each fork (``os.register_at_fork``) starts a child,
    each child's last progress report ends it (it arrives before the child's result, so before the parent may
    start the next one). Without the limit all five are forked before any report is read: five at once."""
    from qaexport.forked import run_forked_all

    counting = True
    running: list[int] = []  # children forked and not yet ended, after each fork
    ended: list[int] = []

    def forked() -> None:
        if counting:
            running.append(len(running) + 1 - len(ended))

    def part(n: int):
        def work(report):
            report(n)  # its end: nothing more is done in the child
            return n
        return work

    os.register_at_fork(after_in_parent=forked)  # cannot be unregistered: `counting` ends it with the test
    try:
        results = run_forked_all([part(n) for n in range(5)], ended.append, str, at_once=2)
    finally:
        counting = False
    assert results == [0, 1, 2, 3, 4]
    assert sorted(ended) == [0, 1, 2, 3, 4]
    assert len(running) == 5, running  # one fork a child
    assert running[:2] == [1, 2] and max(running) == 2, running  # two at once from the start, never a third


def test_forked_works_run_together_and_one_failure_stops_the_others(tmp_path):
    import os
    import time

    from qaexport.errors import OutputError
    from qaexport.forked import run_forked_all

    def part(n: int):
        def work(report):
            report(n)
            return os.getpid(), n * n
        return work

    seen: list[int] = []
    results = run_forked_all([part(n) for n in (1, 2, 3)], seen.append, str)
    assert [square for _, square in results] == [1, 4, 9]  # in the order of the works
    assert len({pid for pid, _ in results} | {os.getpid()}) == 4  # each in its own child
    assert sorted(seen) == [1, 2, 3]

    pid_file = tmp_path / "slow.pid"

    def slow(report):
        written = tmp_path / "slow.pid.new"  # whole or not there: the failing child may see it (and the parent kill
        written.write_text(str(os.getpid()))  # this one) between a plain write's create and its write
        os.replace(written, pid_file)
        time.sleep(60)
        (tmp_path / "slow.done").write_text("too late")

    def failing(report):
        deadline = time.monotonic() + 60  # bounded: the slow child writes it at once
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        raise RuntimeError("disk full")

    with pytest.raises(OutputError, match=r"^part failed \(RuntimeError: disk full\)$"):
        run_forked_all([slow, failing], seen.append, lambda cause: f"part failed ({cause})")
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left writing
        os.kill(int(pid_file.read_text()), 0)
    assert not (tmp_path / "slow.done").exists()
