"""Cut rendered HTML into pieces that can be spread over several cards, and sew pieces back into HTML.

A text that does not fit one card is a sequence of *atoms*: at first its top-level blocks. An atom
that must be cut is *refined* into smaller atoms: a list into its items, a table into its rows, a code
block into its lines (spans never cross lines in the compact scheme, so a line is self-contained), a
paragraph into its words, a single over-long word into halves. Each atom remembers the chain of
elements it sits in, so any run of atoms serialises back into well-formed HTML: the chain is
reopened on the next card (a numbered list keeps counting, a table repeats its header row).

The HTML comes from our own renderer and was sanitised there; this module only moves its elements
around and re-escapes every text and attribute value it writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser

VOID = frozenset({"br", "hr", "img", "wbr", "col", "area", "input", "source", "track", "embed", "base"})
#: Whitespace between children of these is layout noise, not content.
BLOCK_PARENTS = frozenset({"#root", "ul", "ol", "table", "thead", "tbody", "tfoot", "tr", "blockquote", "div"})
#: Cutting inside these keeps the reader oriented (a list, a table, code): they are cut before moving on.
CONTAINERS = frozenset({"pre", "ul", "ol", "table", "thead", "tbody", "blockquote"})

_WORDS = re.compile(r"\s*\S+\s*|\s+")


@dataclass(eq=False)
class Element:
    tag: str
    attrs: list[tuple[str, str | None]] = field(default_factory=list)
    children: list[Element | str] = field(default_factory=list)

    def attr(self, name: str) -> str | None:
        return next((v for k, v in self.attrs if k == name), None)


Node = Element | str


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, attrs)
        self.stack[-1].children.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


@dataclass(frozen=True, eq=False)
class Atom:
    """A run of sibling nodes, with the elements it sits in and its position in each of them."""

    chain: tuple[tuple[Element, int], ...]
    nodes: tuple[Node, ...]

    def with_parent(self, parent: Element, index: int, nodes: tuple[Node, ...]) -> Atom:
        return Atom((*self.chain, (parent, index)), nodes)


def atoms(html: str) -> list[Atom]:
    """The top-level blocks of ``html``, one atom each."""
    root = parse(html)
    return _children(Atom((), (root,)), root)


def _children(atom: Atom, el: Element) -> list[Atom]:
    out = []
    for i, child in enumerate(el.children):
        if isinstance(child, str) and el.tag in BLOCK_PARENTS and not child.strip():
            continue
        out.append(atom.with_parent(el, i, (child,)) if el.tag != "#root" else Atom((), (child,)))
    return out


def _lines(atom: Atom, pre: Element) -> list[Atom]:
    """A code block's lines; each line keeps its spans (they never cross a line break)."""
    code = next((c for c in pre.children if isinstance(c, Element) and c.tag == "code"), None)
    holder = code or pre
    chain = atom.with_parent(pre, 0, ()).chain if code else atom.chain
    lines: list[list[Node]] = [[]]
    for child in holder.children:
        if isinstance(child, str) and "\n" in child:
            pieces = child.split("\n")
            for j, piece in enumerate(pieces):
                if j < len(pieces) - 1:
                    lines[-1].append(piece + "\n")
                    lines.append([])
                elif piece:
                    lines[-1].append(piece)
        else:
            lines[-1].append(child)
    if not lines[-1]:
        lines.pop()
    return [Atom((*chain, (holder, n)), tuple(line)) for n, line in enumerate(lines)]


def refine(atom: Atom) -> list[Atom] | None:
    """Smaller atoms that together are ``atom``, or None if it cannot be cut further."""
    if len(atom.nodes) > 1:
        return [Atom(atom.chain, (n,)) for n in atom.nodes]
    node = atom.nodes[0]
    if isinstance(node, str):
        words = _WORDS.findall(node)
        if len(words) > 1:
            return [Atom(atom.chain, (w,)) for w in words]
        if len(node) > 1:
            half = len(node) // 2
            return [Atom(atom.chain, (node[:half],)), Atom(atom.chain, (node[half:],))]
        return None
    if node.tag in VOID or not node.children:
        return None
    if node.tag == "pre":
        lines = _lines(atom, node)
        return lines if len(lines) > 1 or (lines and len(lines[0].nodes) > 1) else _children(atom, node)
    parts = _children(atom, node)
    return parts or None


def is_container(atom: Atom) -> bool:
    node = atom.nodes[0]
    return len(atom.nodes) == 1 and isinstance(node, Element) and node.tag in CONTAINERS


def _attrs(attrs: list[tuple[str, str | None]]) -> str:
    return "".join(f' {k}="{escape(v or "", quote=True)}"' if v is not None else f" {k}" for k, v in attrs)


def _open(el: Element, index: int) -> str:
    """The start tag of ``el`` entered at child ``index``: a continuation keeps counting and is marked."""
    attrs = list(el.attrs)
    if index > 0:
        if el.tag == "ol":
            start = el.attr("start")
            before = sum(1 for c in el.children[:index] if isinstance(c, Element) and c.tag == "li")
            first = int(start) if start and start.lstrip("-").isdigit() else 1
            attrs = [(k, v) for k, v in attrs if k != "start"] + [("start", str(first + before))]
        if el.tag in ("li", "p", "pre", "code", "blockquote", "td", "th"):
            cls = el.attr("class")
            attrs = [(k, v) for k, v in attrs if k != "class"] + [("class", f"{cls} cont" if cls else "cont")]
    html = f"<{el.tag}{_attrs(attrs)}>"
    if el.tag == "table" and index > 0:  # repeat the header row on the next card
        html += "".join(serialize(c) for c in el.children[:index] if isinstance(c, Element) and c.tag == "thead")
    return html


def serialize(node: Node) -> str:
    if isinstance(node, str):
        return escape(node, quote=False)
    if node.tag in VOID:
        return f"<{node.tag}{_attrs(node.attrs)}>"
    return f"<{node.tag}{_attrs(node.attrs)}>{''.join(serialize(c) for c in node.children)}</{node.tag}>"


def join(run: list[Atom]) -> str:
    """Well-formed HTML for consecutive atoms: shared parents are opened once, left open parents closed."""
    out: list[str] = []
    open_: list[Element] = []
    for atom in run:
        keep = 0
        while keep < len(open_) and keep < len(atom.chain) and open_[keep] is atom.chain[keep][0]:
            keep += 1
        for el in reversed(open_[keep:]):
            out.append(f"</{el.tag}>")
        del open_[keep:]
        for el, index in atom.chain[keep:]:
            out.append(_open(el, index))
            open_.append(el)
        out.extend(serialize(n) for n in atom.nodes)
    out.extend(f"</{el.tag}>" for el in reversed(open_))
    return "".join(out)
