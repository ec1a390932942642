"""Builds devalue / Nuxt payloads in tests, so every format feature is exercised on purpose."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Typed:
    """A devalue typed entry: ``["Kind", *args]``; args are values to flatten unless ``raw``."""

    kind: str
    args: tuple = ()
    raw: bool = False


def flatten(value: Any) -> list[Any]:
    out: list[Any] = []

    def add(v: Any) -> int:
        idx = len(out)
        out.append(None)
        if isinstance(v, dict):
            out[idx] = {k: add(x) for k, x in v.items()}
        elif isinstance(v, list):
            out[idx] = [add(x) for x in v]
        elif isinstance(v, Typed):
            out[idx] = [v.kind, *(v.args if v.raw else [add(x) for x in v.args])]
        else:
            out[idx] = v
        return idx

    add(value)
    return out


def question(qid: str, difficulty: str = "easy", q: str | None = None, a: str | None = None) -> dict:
    return {"id": qid, "difficulty": difficulty, "q": q or f"What is {qid}?", "a": a or f"**{qid}** is an answer."}


def subtopic(slug: str, name: str, questions: list[dict], order: int = 1, fw: str = "fastapi",
             topic: str = "deployment") -> dict:
    return {
        "title": name, "subtopic": name, "order": order, "path": f"/{fw}/{topic}/{slug}",
        "seoDescription": f"{name} questions", "updated": "2026-06-20", "questions": questions,
        "frameworkSlug": fw, "topicSlug": topic,
    }


def page(subtopics: list[dict], fw: str = "fastapi", fw_name: str = "FastAPI", topic: str = "deployment",
         topic_name: str = "Deployment & Middleware", key: str | None = None, topic_order: int = 8) -> list[Any]:
    data = {
        "framework": {"name": fw_name, "slug": fw, "order": 6, "description": f"{fw_name} interview questions"},
        "topic": {"name": topic_name, "slug": topic, "order": topic_order, "description": f"{topic_name} topic"},
        "subtopics": subtopics,
    }
    return flatten({"data": Typed("ShallowReactive", ({key or f"topic-{fw}-{topic}": data},)), "prerenderedAt": 1})


def write(path: Path, payload: list[Any] | str | bytes) -> Path:
    if isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")
    return path


def html_page(payload: list[Any]) -> str:
    body = json.dumps(payload).replace("</", "<\\/")
    return (
        "<!DOCTYPE html><html><head><title>Saved page</title>"
        "<script type=\"module\" src=\"/_nuxt/entry.js\"></script></head>"
        f"<body><div id=\"__nuxt\">rendered</div><script type=\"application/json\" data-nuxt-data=\"nuxt-app\" "
        f"data-ssr=\"true\" id=\"__NUXT_DATA__\">{body}</script></body></html>"
    )
