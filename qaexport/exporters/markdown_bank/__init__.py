"""Markdown bank writer: any library → a folder of Markdown files that reads back to the same library.

The layout and formatting are canonical, so converting a Markdown bank again gives byte-identical
files and a diff shows only what an author changed: a folder per framework and topic, a file per
subtopic (``NN-slug.md``, NN its position, which keeps the order when no ``order`` is given),
front matter with every name, slug, description and order, and one ``## Question {#id .difficulty}``
section per question. Every section is parsed back with the reader before anything is written;
a text that would not survive as a heading or a plain answer is written in the reader's fence form.
"""

from __future__ import annotations

import posixpath
import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from ...errors import InputError, OutputError, UsageError
from ...formats import markdown_bank as reader
from ...formats.anki_package import safe_bank_path
from ...model import BankFile, ContentFormat, Framework, Library, Question, Subtopic, Topic, is_key
from ...output import write_tree
from ...reading import read_limited
from ...render import Scheme
from .. import Build, ExporterBase, Produces, option

#: Longest slug part of a file or folder name; the front matter holds the full slug.
MAX_NAME_SLUG = 60
_SENTINEL_ID = "qaexport-end-of-section"
_SENTINEL = f"\n\n## End {{#{_SENTINEL_ID} .easy}}\n\nEnd.\n"


_UNWRITABLE = re.compile("[\x00\ud800-\udfff]")
_SRC = re.compile(r'\bsrc="([^"]+)"')


def normalise(text: str) -> str:
    """What a UTF-8 text file can hold: LF line ends (as Markdown reads them), no NUL (the renderer drops
    it), U+FFFD for lone surrogates (which UTF-8 cannot encode), and no surrounding whitespace (reading
    strips it, as it does for every source)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNWRITABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text).strip()


def _fence(text: str, info: str) -> str:
    """A backtick fence longer than any backtick run in ``text``, so nothing inside can close it."""
    longest = max((len(run) for run in text.split("\n") for run in _backtick_runs(run)), default=0)
    marker = "`" * max(3, longest + 1)
    return f"{marker}{info}\n{text}\n{marker}"


def _backtick_runs(line: str) -> list[str]:
    runs, current = [], ""
    for ch in line:
        if ch == "`":
            current += ch
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs


def _attrs(q: Question) -> str:
    difficulty = q.difficulty.label if q.difficulty is not None else reader.UNRATED
    fmt = f" format={q.format.value}" if q.format is not ContentFormat.MARKDOWN else ""
    moved = f" from={q.origin}" if q.origin else ""
    return f"{{#{q.id} .{difficulty}{fmt}{moved}}}"


def _forms(q: Question, question: str, answer: str) -> list[str]:
    attrs = _attrs(q)
    fence = reader.CLOZE_FENCE if q.cloze else reader.QUESTION_FENCE
    heads = [f"## {question} {attrs}\n\n", f"## {attrs}\n\n{_fence(question, fence)}\n\n"]
    bodies = [answer, _fence(answer, reader.ANSWER_FENCE)] if answer else [""]  # a cloze's answer is optional
    return [(head + body).rstrip("\n") for head in heads for body in bodies]


def canonical_images(text: str, images: dict[str, str]) -> str:
    """``text`` with each image reference the reader loaded rewritten to where the writer puts its file:
    ``media/<content name>`` beside the Markdown file (references it left out stay as written)."""
    if not images or "](" not in text:
        return text
    from markdown_it.helpers import parseLinkDestination

    from ...formats.dialect import parser

    normalize = parser().normalizeLink
    edits: list[tuple[int, int, str]] = []
    pos = text.find("](")
    while pos >= 0:
        start = pos + 2
        while start < len(text) and text[start] in " \t":
            start += 1
        found = parseLinkDestination(text, start, len(text))
        if found.ok and normalize(found.str) in images:
            edits.append((start, found.pos, f"{reader.MEDIA_FOLDER}/{images[normalize(found.str)]}"))
        pos = text.find("](", pos + 2)
    for start, end, new in reversed(edits):
        text = text[:start] + new + text[end:]
    return text


def section(q: Question) -> str:
    """The shortest form of ``q`` that the reader parses back to exactly ``q`` (checked, not assumed)."""
    question = normalise(canonical_images(q.question, q.images))
    answer = normalise(canonical_images(q.answer, q.images))
    for label, text in (("question", question), ("answer", answer)):
        if not text.strip() and not (label == "answer" and q.cloze):
            raise OutputError(f"{q.location}: question {q.id!r}: the {label} is empty once NUL characters "
                              "are dropped; fix it in the source")
    for text in _forms(q, question, answer):
        parsed = reader.parse_body(text + "\n" + _SENTINEL)
        got = parsed.questions
        want = (q.id, q.difficulty.label if q.difficulty is not None else reader.UNRATED, question, answer, q.format,
                q.cloze)
        if (not parsed.problems and not parsed.warnings and len(got) == 2 and got[1].id == _SENTINEL_ID
                and (got[0].id, got[0].difficulty, got[0].question, got[0].answer, got[0].format,
                     got[0].cloze) == want):
            return text + "\n"
    raise OutputError(f"{q.location}: question {q.id!r} cannot be written as Markdown; please report this")


def _place(node: Framework | Topic | Subtopic) -> dict[str, Any]:
    out: dict[str, Any] = {"name": node.name, "slug": node.slug}
    if node.order is not None:
        out["order"] = int(node.order) if node.order.is_integer() else node.order
    if node.description:
        out["description"] = node.description
    return out


@cache
def _dumper() -> type:
    """PyYAML's dumper, but text holding a YAML line break other than LF, or anything unprintable, goes in
    double quotes with escapes: PyYAML writes NEL or U+2028 raw in plain scalars and reads them back as
    spaces. Made on first use: this module loads with ``--help``, PyYAML only when a bank is written."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        quoted = any(ch in "\x85\u2028\u2029" or not (ch.isprintable() or ch in "\n\t") for ch in value)
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if quoted else None)

    Dumper.add_representer(str, represent_str)
    return Dumper


def front_matter(fw: Framework, topic: Topic, sub: Subtopic, cover: str | None = None) -> str:
    import yaml

    data: dict[str, Any] = {"framework": _place(fw), "topic": _place(topic), "subtopic": _place(sub)}
    if cover:
        data[reader.COVER] = f"{reader.MEDIA_FOLDER}/{cover}"
    return "---\n" + yaml.dump(data, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=100) + "---\n"


def subtopic_text(fw: Framework, topic: Topic, sub: Subtopic, cover: str | None = None) -> str:
    return front_matter(fw, topic, sub, cover) + "".join("\n" + section(q) for q in sub.questions)


def _names(items: list[Any], always_number: bool) -> list[str]:
    """File-system names: the slug, numbered by position when order must survive among siblings."""
    width = max(2, len(str(len(items))))
    number = always_number or len(items) > 1
    return [f"{n:0{width}d}-{item.slug[:MAX_NAME_SLUG]}" if number else item.slug[:MAX_NAME_SLUG]
            for n, item in enumerate(items, 1)]


def _subtopic_files(library: Library) -> Iterator[tuple[str, Framework, Topic, Subtopic]]:
    """Each subtopic with the relative path of its file, in library order."""
    for fw, fw_dir in zip(library.frameworks, _names(library.frameworks, False), strict=True):
        for topic, topic_dir in zip(fw.topics, _names(fw.topics, False), strict=True):
            for sub, stem in zip(topic.subtopics, _names(topic.subtopics, True), strict=True):
                yield f"{fw_dir}/{topic_dir}/{stem}.md", fw, topic, sub


def bank_files(library: Library) -> dict[str, str]:
    """Relative path → file text for the whole library, in library order."""
    files: dict[str, str] = {}
    cover = library.cover[0] if library.cover else None
    for rel, fw, topic, sub in _subtopic_files(library):
        files[rel] = subtopic_text(fw, topic, sub, cover)
        cover = None  # the first file names the cover
    return files


def _left_out(q: Question) -> list[str]:
    """The image references of a Markdown question that its reader left out (a damaged image, a file that is no
    image: a warning when read) and that name a file inside the question file's folder: written as they are, the
    new bank must have a file there. A URL, an absolute path or one leading out is left out again with the same
    warning, and needs none."""
    from ...formats.dialect import scan

    if q.format is not ContentFormat.MARKDOWN:
        return []
    refs = []
    for text in (q.question, q.answer):
        for image in scan(text).images:
            relative = posixpath.normpath(urllib.parse.unquote(image.src))
            if image.src not in q.images and safe_bank_path(relative) and not _URL.match(image.src):
                refs.append(image.src)
    return refs


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")


def _source_image(q: Question, ref: str) -> bytes | None:
    """The bytes of the image file ``ref`` names beside the Markdown file ``q`` was read from, as that file's reader
    finds it (inside its folder, a regular file within the image limit), or None: a deck's question, a file gone."""
    from ...formats.images import MAX_IMAGE_BYTES

    source = Path(q.location.file)
    if source.suffix.lower() not in reader.SUFFIXES or not source.is_file():
        return None
    folder = source.resolve().parent
    path = (folder / urllib.parse.unquote(ref)).resolve()
    if not path.is_relative_to(folder):
        return None
    try:
        return read_limited(path, MAX_IMAGE_BYTES, "image")
    except (InputError, OSError):
        return None


def left_out_images(library: Library, question_files: dict[str, str], files: dict[str, bytes],
                    warn: Callable[[str], None]) -> dict[str, bytes]:
    """The files the images a reader left out name, where the written bank files name them (trial11: the new bank
    named ``images/cut.png`` and had no such file, so it did not build). The source's own file, copied as it is:
    the new bank leaves it out with the same warning. Where it is not at hand (a deck holds no image it left out),
    an empty file, with a warning: the new bank leaves it out too, as the source did, and names where the image
    goes. ``question_files``: question key → the bank file it is written in."""
    out: dict[str, bytes] = {}
    for ref_q in library.questions():
        q = ref_q.question
        written_in = question_files.get(q.key)
        if written_in is None:
            continue
        for ref in _left_out(q):
            rel = posixpath.normpath(posixpath.join(posixpath.dirname(written_in), urllib.parse.unquote(ref)))
            if rel in files or rel in out or any(f.startswith(f"{rel}/") for f in files):
                continue
            data = _source_image(q, ref)
            if data is None:
                data = b""
                warn(f"{q.location}: image {ref!r} was left out of the source and there is no file to copy (a deck "
                     f"holds none; one over the image limit is not read); {rel} is written empty in its place (left "
                     "out again, with a warning): save the image there")
            out[rel] = data
    return out


def image_files(library: Library) -> dict[str, bytes]:
    """The images Markdown questions show, beside their files (``<topic folder>/media/<name>``, where the
    rewritten references point), and the cover beside the first file."""
    files: dict[str, bytes] = {}
    first = True
    for fw, fw_dir in zip(library.frameworks, _names(library.frameworks, False), strict=True):
        for topic, topic_dir in zip(fw.topics, _names(fw.topics, False), strict=True):
            names = {name for sub in topic.subtopics for q in sub.questions for name in q.images.values()}
            if first and library.cover:
                names.add(library.cover[0])
            first = False
            for name in sorted(n for n in names if n in library.media):
                files[f"{fw_dir}/{topic_dir}/{reader.MEDIA_FOLDER}/{name}"] = library.media[name].data
    return files


def _shown(questions: list[Question]) -> set[str]:
    """The media names ``questions`` show: a Markdown question's images, an HTML question's ``src`` names."""
    return {name for q in questions
            for name in (_SRC.findall(q.question + q.answer) if q.format is ContentFormat.HTML else q.images.values())}


def _cover(file: BankFile) -> str | None:
    """The media name of the cover ``file``'s front matter names, if it loaded."""
    try:
        ref = reader.cover_reference(reader.decode(file.data, file.name))
    except InputError:
        return None
    return file.images.get(ref) if ref else None


def restored_files(library: Library, warn: Callable[[str], None]) -> tuple[dict[str, bytes], Library]:
    """The bank files a deck carried back (``Library.restored``) and the library of the questions they do not hold.

    A file whose notes are all as exported, each of its questions read, is its own bytes again, with the images it
    names where it names them; a file with a note changed in Anki (edited or deleted) is its canonical form from the
    notes, under its own name, with a YAML comment (and a warning) naming the changed notes."""
    files: dict[str, bytes] = {}
    claimed: set[str] = set()
    by_key = {ref.question.key: ref for ref in library.questions()}
    covered = False
    for found in library.restored:
        keys = [key for key in found.keys if key in by_key and key not in claimed]
        if not keys or found.file.name in files:
            continue
        if not found.changed and len(keys) == len(found.keys):
            files[found.file.name] = found.file.data
            folder = posixpath.dirname(found.file.name)
            for ref, name in found.file.images.items():
                rel = posixpath.normpath(posixpath.join(folder, urllib.parse.unquote(ref)))
                if name in library.media and safe_bank_path(rel):
                    files.setdefault(rel, library.media[name].data)
                    covered = covered or (library.cover is not None and name == library.cover[0])
            claimed.update(keys)
            continue
        first = by_key[keys[0]]
        mine = [key for key in keys if by_key[key].subtopic is first.subtopic]
        sub = replace(first.subtopic, questions=[by_key[key].question for key in mine])
        changed = ", ".join(key if is_key(key) else "a note" for key in found.changed)
        note = f"# qaexport convert: changed in Anki since the export, so in canonical form: {changed}\n"
        cover = _cover(found.file)
        text = "---\n" + note + front_matter(first.framework, first.topic, sub, cover)[4:]
        files[found.file.name] = (text + "".join("\n" + section(q) for q in sub.questions)).encode()
        # the images it shows where the canonical text points (``media/`` beside it, where the reader also looks
        # for an HTML question's): written nowhere else, since its questions are not in the library left
        folder = posixpath.dirname(found.file.name)
        for name in sorted(_shown(sub.questions) | ({cover} if cover else set())):
            if name in library.media:
                files.setdefault(posixpath.join(folder, reader.MEDIA_FOLDER, name), library.media[name].data)
        covered = covered or cover is not None
        warn(f"{found.file.name}: notes changed in Anki since the export ({changed}): written in canonical form "
             "with the changes, not as the author wrote it")
        claimed.update(mine)
    frameworks = []
    for fw in library.frameworks:
        topics = []
        for topic in fw.topics:
            subs = [replace(sub, questions=qs) for sub in topic.subtopics
                    if (qs := [q for q in sub.questions if q.key not in claimed])]
            if subs:
                topics.append(replace(topic, subtopics=subs))
        if topics:
            frameworks.append(replace(fw, topics=topics))
    return files, Library(frameworks, library.media, None if covered else library.cover)


@dataclass
class MarkdownBankOptions:
    force: bool = option(False, "Write into a non-empty folder, overwriting only the files this bank consists "
                                "of; nothing else there is changed or deleted.")


class MarkdownBankExporter(ExporterBase):
    """Write a Markdown bank: a folder per framework and topic, a file per subtopic, canonical formatting."""

    name = "markdown"
    suffix = ""
    description = "Markdown bank (a folder of .md files, one per subtopic)"
    produces = Produces.FOLDER
    scheme = Scheme.NONE  # works from the source texts; nothing is rendered
    in_all = False  # a source format, written on request by `qaexport convert`
    Options = MarkdownBankOptions

    def export(self, build: Build, options: MarkdownBankOptions, target: Path) -> None:
        restored, rest = restored_files(build.library, build.warn)
        files = {rel: text.encode() for rel, text in bank_files(rest).items()}
        if set(files) & set(restored):
            build.warn(f"{sorted(set(files) & set(restored))[0]}: a bank file the deck carried has the name of a "
                       "file written in canonical form; the whole bank is written in canonical form")
            restored, rest = {}, build.library
            files = {rel: text.encode() for rel, text in bank_files(rest).items()}
        files.update(restored)
        # Images of HTML questions (Anki cards), content-addressed, where the reader looks for them (in a
        # `media/` folder at the top); a Markdown question's images beside its file.
        html_media = {name for ref in rest.questions() if ref.question.format is ContentFormat.HTML
                      for name in _SRC.findall(ref.question.question + ref.question.answer)
                      if name in rest.media}
        files.update({f"{reader.MEDIA_FOLDER}/{name}": rest.media[name].data for name in sorted(html_media)})
        files.update(image_files(rest))
        question_files = {key: found.file.name for found in reversed(build.library.restored)
                          if found.file.name in restored for key in found.keys}
        question_files.update({q.key: rel for rel, _fw, _topic, sub in _subtopic_files(rest) for q in sub.questions})
        files.update(left_out_images(build.library, question_files, files, build.warn))
        if target.is_dir() and any(target.iterdir()) and not options.force:
            raise UsageError(f"{target}: folder is not empty; choose a new or empty folder, or pass --force to "
                             "overwrite the bank's own files there (nothing else is touched)")
        with build.progress("Writing Markdown", len(files)) as advance:
            write_tree(target, files, overwrite=options.force)
            advance(len(files))
