"""A small Markdown bank for the site and preview tests: two subtopics, every difficulty, a multi-paragraph
question, code, a wide table, and one answer of hostile HTML and links."""

from __future__ import annotations

from pathlib import Path

HOSTILE = (Path(__file__).parent / "fixtures" / "hostile.md").read_text(encoding="utf-8")

#: A word only an answer holds (no question has it): search must still find its question.
ANSWER_ONLY_WORD = "zanzibarite"

FRONT = """---
framework:
  name: Python
  slug: python
  description: Python questions.
topic:
  name: Basics
  slug: basics
subtopic: {name}
---

"""

FIRST = FRONT.format(name="Functions") + f"""## What does `def` do? {{#def-keyword .easy}}

It defines a function; the rare mineral {ANSWER_ONLY_WORD} is mentioned only here.

```python
def greet(name: str) -> str:
    return f"Hello, {{name}}"  # a comment long enough to make the line scroll sideways on a phone screen
```

## What is a closure? {{#closure .medium}}

A function that keeps the variables of the scope it was made in.

| column one | column two | column three | column four | column five | column six | column seven |
|---|---|---|---|---|---|---|
| alpha | beta | gamma | delta | epsilon | zeta | eta |

## {{#two-paragraphs .hard}}

```question
A question with two paragraphs.

Which one is the heading?
```

The first paragraph is the heading; the second follows it.

## Is this content safe? <script>alert('q')</script> {{#hostile .hard}}

{HOSTILE}
"""

SECOND = FRONT.format(name="Classes") + """## What is `self`? {#self .easy}

The instance a method was called on.

## What does `__slots__` do? {#slots .medium}

It fixes the attributes an instance may have and saves memory.

## Why is this one unrated? {#unrated-one .unrated}

A question from a source that gives no difficulty.
"""


def write_bank(folder: Path) -> Path:
    """The bank in ``folder`` (created), returned."""
    (folder / "python").mkdir(parents=True, exist_ok=True)
    (folder / "python" / "01-functions.md").write_text(FIRST, encoding="utf-8")
    (folder / "python" / "02-classes.md").write_text(SECOND, encoding="utf-8")
    return folder
