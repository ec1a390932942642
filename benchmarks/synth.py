"""Synthesise question banks of any size from the sample content, with unique identities."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qaexport import sources  # noqa: E402
from tests.payloads import page, subtopic  # noqa: E402

SAMPLE = ROOT / "data" / "fastapi-deployment.json"


def synthesise(n: int, folder: Path, per_framework: int = 10) -> list[Path]:
    """Write payload files holding ``n`` questions: the sample repeated under new frameworks/topics."""
    library = sources.load([SAMPLE])
    subs = [s for _, _, s in library.subtopics()]
    folder.mkdir(parents=True, exist_ok=True)
    files, made, copy = [], 0, 0
    while made < n:
        fw_i, topic_i = divmod(copy, per_framework)
        fw, topic = f"framework-{fw_i:03d}", f"topic-{topic_i:02d}"
        payload_subs = []
        for order, sub in enumerate(subs, 1):
            qs = []
            for q in sub.questions:
                if made >= n:
                    break
                # Every copy's text differs, so neither the render cache nor any de-duplication of equal
                # texts can make a cold run cheaper than a real bank of this size.
                qs.append({"id": f"{q.id}-{copy}", "difficulty": q.difficulty.label, "q": f"{q.question} ({copy})",
                           "a": q.answer})
                made += 1
            if qs:
                payload_subs.append(subtopic(sub.slug, sub.name, qs, order=order, fw=fw, topic=topic))
        path = folder / f"{fw}-{topic}.json"
        path.write_text(json.dumps(page(payload_subs, fw=fw, fw_name=f"Framework {fw_i}", topic=topic,
                                        topic_name=f"Topic {fw_i}.{topic_i}", topic_order=topic_i)))
        files.append(path)
        copy += 1
    return files


if __name__ == "__main__":
    synthesise(int(sys.argv[1]), Path(sys.argv[2]))
