"""Which way a language's text runs, from its ``--language`` code (BCP 47), so pages in Arabic, Hebrew, Persian,
Urdu and the other right-to-left languages say ``dir="rtl"``: browsers, e-readers and WeasyPrint then put the
text, list markers, table cells and punctuation on the right side. Without it an Arabic page reads as a left-to-right
page with Arabic words in it (trial10 item 8).

The list is CLDR's: the languages whose likely script (``likelySubtags``) is written right to left (Arabic, Hebrew,
Thaana, Syriac, N'Ko, Adlam, Hanifi Rohingya, Mandaic, Samaritan scripts), as Babel's ``Locale.text_direction``
reports them; kept here as data, since Babel is not a dependency. A script subtag decides first: ``pa-Arab`` and
``uz-Arab`` are right to left, ``ku-Latn`` and ``sd-Deva`` left to right."""

from __future__ import annotations

import re
from typing import Literal

#: ISO 639 codes whose default script runs right to left (CLDR likely subtags; ``iw`` and ``ji`` are the old
#: codes of Hebrew and Yiddish, still seen in the wild).
RTL_LANGUAGES = frozenset({
    "apc", "ar", "arc", "ary", "azb", "bal", "bej", "bgn", "bqi", "brh", "ckb", "dv", "fa", "glk", "he", "iw",
    "ji", "khw", "ks", "lki", "lrc", "luz", "mde", "mzn", "nqo", "pnb", "prd", "ps", "rhg", "sam", "sd", "sdh",
    "skr", "syr", "trw", "ug", "ur", "yi",
})

#: ISO 15924 codes of the right-to-left scripts (a BCP 47 script subtag, e.g. ``pa-Arab``).
RTL_SCRIPTS = frozenset({
    "adlm", "arab", "aran", "hebr", "mand", "mend", "nkoo", "rohg", "samr", "syrc", "thaa", "yezi",
})

Direction = Literal["ltr", "rtl"]

_ALNUM = "[A-Za-z0-9]"
#: A well-formed BCP 47 tag (RFC 5646 section 2.1, ASCII only): language (with extended subtags), script, region,
#: variants, extensions, private use; or a private-use tag alone. What `--language` takes: EPUBCheck refuses a book
#: whose tag is not (``xx-``: "Empty subtag"), and browsers and screen readers ignore such a tag.
_LANGUAGE_TAG = re.compile(
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"  # language, extlang
    r"(?:-[A-Za-z]{4})?"  # script
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"  # region
    rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*"  # variants
    rf"(?:-[0-9A-WYZa-wyz](?:-{_ALNUM}{{2,8}})+)*"  # extensions
    rf"(?:-[Xx](?:-{_ALNUM}{{1,8}})+)?"  # private use
    rf"|[Xx](?:-{_ALNUM}{{1,8}})+")
#: RFC 5646's irregular grandfathered tags (the regular ones are well-formed tags already).
_IRREGULAR = frozenset({
    "en-gb-oed", "i-ami", "i-bnn", "i-default", "i-enochian", "i-hak", "i-klingon", "i-lux", "i-mingo", "i-navajo",
    "i-pwn", "i-tao", "i-tay", "i-tsu", "sgn-be-fr", "sgn-be-nl", "sgn-ch-de",
})


def is_language_tag(tag: str) -> bool:
    """Whether ``tag`` is a well-formed BCP 47 language tag (``en``, ``pt-BR``, ``zh-Hant-TW``, ``sr-Latn``)."""
    return _LANGUAGE_TAG.fullmatch(tag) is not None or tag.lower() in _IRREGULAR


def text_direction(language: str) -> Direction:
    """``"rtl"`` for a right-to-left language tag, else ``"ltr"``. A script subtag (four letters, the first
    subtag after the language) decides when there is one; otherwise the language's default script does."""
    primary, *rest = language.lower().replace("_", "-").split("-")
    script = next((part for part in rest[:2] if len(part) == 4 and part.isalpha()), None)
    if script is not None:
        return "rtl" if script in RTL_SCRIPTS else "ltr"
    return "rtl" if primary in RTL_LANGUAGES else "ltr"


_CODE_TAG = re.compile(r"<(pre|code)\b")


def code_left_to_right(markup: str) -> str:
    """``dir="ltr"`` on every ``<pre>`` and ``<code>`` of a page's markup: code reads left to right in any
    language. For the EPUB, whose style sheets may not set ``direction`` (EPUBCheck CSS-001); the site and the
    booklet say it in CSS. Only tags match: a ``<`` in text is escaped as ``&lt;``."""
    return _CODE_TAG.sub(r'<\1 dir="ltr"', markup)
