"""``qaexport init``: a commented ``qaexport.toml`` and one example Markdown subtopic to start from.

The config skeleton is generated from the same places the config schema is (the top-level keys and
every installed exporter's ``Options``), so it never lists a key the file would refuse.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..output import file_in_the_way, not_a_folder, write_tree
from .common import config_tables, handle_errors, say
from .config import CONFIG_NAME
from .options import fields_of, nonempty_path

BANK = "bank"
EXAMPLE = "example/markdown/01-getting-started.md"

EXAMPLE_TEXT = """\
---
# Where this subtopic sits: a name each, or a mapping with name, slug, order and description.
# The slugs make each question's key (and its Anki note): keep them when you rename a place, and your
# learners keep their reviews.
framework:
  name: Example
  slug: example
  description: A Markdown bank to copy from. `qaexport validate bank/` checks it.
topic: {name: Markdown, slug: markdown}
subtopic:
  name: Getting started
  slug: getting-started
  order: 1
---

## What does a question look like? {#question-format .easy}

A `## ` heading holds the question (inline Markdown) and ends with `{#id .difficulty}`: an id that stays
the same when you reword the question (Anki keeps the review history), and `.easy`, `.medium` or `.hard`
(`.unrated` if it has none).

Everything below the heading, up to the next question, is the answer. A `## ` heading without
`{…}` (like `## Example`) is a heading of the answer; `###` and below are too.

## How do I add code to an answer? {#code-in-answers .medium}

Fence it, with a language for highlighting:

```python
def greet(name: str) -> str:
    ## a line like this inside a fence never starts a question
    return f"Hello, {name}"
```

## {#long-question .hard}

```question
A question with two paragraphs goes in a `question` fence.

Its answer follows the fence.
```

Like this one.
"""


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def config_skeleton() -> str:
    """Every key the config file takes, commented out except the two a new project needs."""
    lines = [
        "# qaexport.toml: defaults for every qaexport command run in this folder; flags override them.",
        "# Uncomment what you need. Relative paths are relative to this file.",
        "",
        f'sources = ["{BANK}"]           # question files or folders (Markdown banks, payloads, Anki packages)',
        'output = "dist"              # the folder every output goes to',
        '# title = "Interview Prep"   # for every exporter that has a title',
        '# author = ""                # for every exporter that has an author',
        '# theme = "default"          # Pygments style for code: `qaexport themes`',
        '# night_theme = "github-dark"',
    ]
    for name, classes in config_tables().items():  # every table the schema accepts: plugins', [push], [serve]
        lines += ["", f"[{name}]"]
        for f, kind in (field for cls in classes for field in fields_of(cls)):
            help_text = " ".join(str(f.metadata.get("help", "")).split())
            choices = f.metadata.get("choices")
            if choices:
                help_text += f" One of {', '.join(choices)}."
            default = f.default if f.default is not dataclasses.MISSING else None
            shown = _toml_value(default) if default is not None else '["..."]' if kind is list else '"..."'
            lines.append(f"# {f.name} = {shown}" + (f"  # {help_text}" if help_text else ""))
    return "\n".join(lines) + "\n"


@handle_errors
def init_cmd(
    folder: Annotated[Path, typer.Argument(help="Folder to set up. Default: the current folder.",
                                           show_default=False, metavar="DIR",
                                           parser=nonempty_path("name a folder (. is the current folder)"))
            ] = Path("."),
) -> None:
    """Write a commented qaexport.toml and an example Markdown bank (bank/example/...) to start from.

    Refuses to replace either file if it exists; nothing else in DIR is touched.

    Example: qaexport init && qaexport validate && qaexport all
    """
    files = {CONFIG_NAME: config_skeleton().encode(), f"{BANK}/{EXAMPLE}": EXAMPLE_TEXT.encode()}
    blocking = file_in_the_way(folder / CONFIG_NAME)
    if blocking is not None:
        raise UsageError(f"{folder}: {not_a_folder(blocking, 'DIR')}")
    existing = [rel for rel in files if (folder / rel).exists()]
    if existing:
        raise UsageError(f"{folder / existing[0]}: already exists; qaexport init never replaces a file "
                         "(move it away to start afresh)")
    from ..errors import OutputError

    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: is a file, not a folder; qaexport init takes the folder to set up "
                          "(qaexport init DIR): give a folder")
    try:
        write_tree(folder, files, overwrite=True)
    except OutputError as exc:  # its hint names `-o/--output`, which init has not: name init's own argument
        what, _, hint = str(exc).rpartition("; ")
        if "--output" not in hint:
            raise
        raise OutputError(f"{what}; choose another folder (qaexport init DIR)") from None
    for rel in files:
        say(f"wrote {folder / rel}")
