"""Debug: the top evidence sentences for a question, with the anchor check of each."""

from __future__ import annotations

import sys

from qa.question import parse_question
from qa.reader import Windows, anchors_of
from qa.service import QAService
from qa.settings import Settings

service = QAService.open(Settings.from_env({"QA_DATA_DIR": f"/tmp/h14b-data-{sys.argv[1]}"}))
for q in sys.argv[2:]:
    ev = service.retrieve(q)
    w = Windows(ev)
    a = anchors_of(q)
    print("Q", q, parse_question(q).needs, a)
    for s in ev.sentences[:8]:
        print(f"  {s.score:.3f} m={w.matches(s, a)} {s.sentence.text[:160]!r}")
    print("  ->", service.ask_sync(q).answer[:200])
