"""The LLM's standalone form of a follow-up question, kept only when it keeps the user's words,
makes up no name or number, and finds the material the rule's form finds."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx

from qa.followup import (
    Turn,
    adds_context,
    invented,
    is_one_question,
    keeps_user_words,
    still_refers,
)
from qa.prompts import standalone_messages
from qa.records import Evidence
from qa.settings import GeneratorSettings

log = logging.getLogger("qa.followup")
MAX_TOKENS = 96
TURNS_SHOWN = 3
ANSWER_CHARS = 300  # of each earlier answer: enough for its referents, little for injected text


async def llm_standalone(
    client: httpx.AsyncClient, settings: GeneratorSettings, question: str, history: Sequence[Turn]
) -> str | None:
    """The model's rewrite of ``question``, or None (backend down, empty, or dropped user words)."""
    if not settings.llm_base_url:
        return None
    turns = [(t.question, (t.short_answer or t.answer or "")[:ANSWER_CHARS] or None)
             for t in history[-TURNS_SHOWN:]]
    conversation = [text for turn in turns for text in turn if text]
    payload = {
        "model": settings.llm_model,
        "messages": standalone_messages(question, turns),
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
    }
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    url = settings.llm_base_url.rstrip("/") + "/chat/completions"
    timeout = httpx.Timeout(settings.llm_timeout, connect=min(5.0, settings.llm_timeout))
    try:
        response = await client.post(url, json=payload, headers=headers, timeout=timeout)
        response.raise_for_status()
        text = str(response.json()["choices"][0]["message"]["content"] or "")
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        log.warning("standalone rewrite by the LLM failed, using the rule: %s", exc)
        return None
    rewritten = " ".join(text.strip().strip('"').split())
    if rewritten.lower().startswith("last question:"):
        rewritten = rewritten.split(":", 1)[1].strip().strip('"')
    if not rewritten or not keeps_user_words(question, rewritten):
        log.info("LLM rewrite %r of %r dropped the user's words; using the rule", rewritten, question)
        return None
    if not is_one_question(rewritten):
        log.info("LLM rewrite %r of %r is not one question; using the rule", rewritten, question)
        return None
    # only called for follow-ups the rule saw: one that still points outside is not resolved
    if not adds_context(question, rewritten) or still_refers(question, rewritten):
        log.info("LLM left the follow-up %r unresolved (%r); using the rule", question, rewritten)
        return None
    if made_up := invented(question, rewritten, conversation):
        log.info("LLM rewrite %r of %r names %s, which nobody said; using the rule",
                 rewritten, question, made_up)
        return None
    return rewritten


def same_grounds(rule: Evidence, rewritten: Evidence, read: int) -> bool:
    """True when the passage found first for the model's rewrite is one of the ``read`` passages
    found for the rule's form: the rule keeps the user's words and the names asked about before,
    so a rewrite whose best passage lies elsewhere has drifted to another event."""
    if not rewritten.passages:
        return False
    best = rewritten.passages[0]
    return any((p.doc_id, p.start) == (best.doc_id, best.start) for p in rule.passages[:read])
