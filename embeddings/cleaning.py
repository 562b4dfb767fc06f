"""Find page furniture (sign-up blocks, captions, datelines, unrelated headlines) without
rewriting the text: the result is a list of spans of ``Document.text`` to keep out of the index.

Two detectors work on blocks (the non-blank lines of the text):

* phrase and shape rules for furniture every news site has, and
* a content check: the article's main body is the densest group of blocks in embedding space;
  a trailing run of short blocks that are unlike it (and unlike each other) is a list of
  unrelated headlines, whatever words it uses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embeddings.encoder import Encoder
from embeddings.records import Document, DroppedSpan

# The characters str.splitlines() breaks on.
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_LINE = re.compile(f"[^{LINE_BREAKS}]+")
_TERMINAL = re.compile(r"[.!?…。！？][\"'”’»)\]]*$")

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)(?:day|nesday|urday|sday)?\.?,?"
_DAY_MONTH = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?)"
_CLOCK = r"(?:\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?\s*(?:[A-Z]{2,4})?)"
_HAS_DATE = re.compile(rf"\b{_DAY_MONTH}(?!\d)")
_DATE_ONLY = re.compile(
    rf"(?:{_WEEKDAY}\s*)?(?:{_DAY_MONTH},?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})"
    rf"(?:\s*[,|-]?\s*{_CLOCK})?",
    re.I,
)
_AGENCY = (
    r"(?:AFP|AP|Reuters|Associated Press|Agence France-Presse|Getty(?: Images)?|EPA|PA|"
    r"Xinhua|Bernama|dpa|UPI|ANI|PTI|IANS|Anadolu(?: Agency)?|Shutterstock|Bloomberg)"
)
_CREDIT = re.compile(
    rf"(?:(?:photo|picture|image|source|credit)s?\s*[:,]\s*)?[(©\s]*{_AGENCY}\)?"
    rf"(?:\s*[/|,&]\s*{_AGENCY})*(?:\s+(?:photo|pictures?|\d{{4}}))?",
    re.I,
)
_BYLINE = re.compile(r"By\s+[A-Z][\w'’.-]+(?:\s+[A-Z][\w'’.-]+){0,3}(?:\s*(?:,|and|&).{0,40})?")
_CAPTION_LABEL = re.compile(
    r"(?:image|photo|picture|video|media)\s+(?:caption|source|copyright|credit)\b[\s,:.-]*", re.I
)
_PHOTO_CAPTION = re.compile(rf"\((?:{_DAY_MONTH}|{_MONTH}\s+\d{{4}})(?:,?\s+\d{{4}})?\)$", re.I)
_PASSIVE_NOW = re.compile(r"\b(?:is|are)\s+(?:being\s+)?\w+(?:ed|en|wn)\b", re.I)
_PUBLISHED = re.compile(
    r"[•·*▪–-]?\s*(?:Published|Updated|Last updated|Posted|First published)\b[^.!?]{0,50}", re.I
)
_NEWSLETTER = re.compile(
    r"\b(?:news ?letters?|sign(?:ing)?[ -]up|subscri(?:be|bing|ption)|unsubscrib\w*|inbox|"
    r"mailing lists?|mailchimp|e-?mail address|privacy (?:policy|notice)|"
    r"marketing (?:platform|emails?))\b",
    re.I,
)
_BOILERPLATE = re.compile(
    r"(?:advertisement|advert|sponsored(?: content)?|share(?: this)?(?: article| story| page)?|"
    r"share on \w+|follow us\b.*|read more\b.*|related (?:articles|stories|topics|content|links)|"
    r"more on this story|click here\b.*|copyright\b.*|©.*|all rights reserved\b.*|"
    r"skip to (?:main )?content|comments?|print|e-?mail|tweet|top stories|most read|"
    r"you may also like\b.*|recommended(?: for you)?|listen to this article|\d+ min(?:ute)? read)"
    r"[\s.:!]*",
    re.I,
)
_TO_READER = re.compile(r"\b(?:you|your|yours|our|us|please|thank you)\b", re.I)
_IMPERATIVE = re.compile(r"(?:sign[ -]?up|subscribe|unsubscribe|register|join|get|follow)\b", re.I)
_QUOTED = re.compile(r"[\"“”«»]|''|(?:^|\s)['‘]\w")
_LINK = re.compile(r"\W*(?:https?://|www\.)\S+\W*|.{0,80}\s*(?:»|›|→|>>)\s*", re.I)
SHORT_BLOCK = 200  # characters; furniture phrases only count in blocks this short
REPEATED_IN = 5  # documents (with different openings) that repeat a block make it the site's own
MAX_CAPTION = 600  # characters; a longer block after "Image caption" is the article again


@dataclass(frozen=True)
class Block:
    """One non-blank line of a document, without its surrounding whitespace."""

    start: int
    end: int
    text: str


def line_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The (start, end) of every non-blank line of ``text[start:end]``, whitespace stripped."""
    spans = []
    for match in _LINE.finditer(text, start, len(text) if end is None else end):
        line = match.group()
        left = len(line) - len(line.lstrip())
        right = len(line.rstrip())
        if right > left:
            spans.append((match.start() + left, match.start() + right))
    return spans


def split_blocks(text: str) -> list[Block]:
    """The document's blocks: its non-blank lines, in order."""
    return [Block(s, e, text[s:e]) for s, e in line_spans(text)]


def _is_terminated(text: str) -> bool:
    return bool(_TERMINAL.search(text))


def _addresses_reader(text: str) -> bool:
    """A call to action: speaks to the reader ("you", "our", "please") or opens with a verb
    ("Sign up ...", "Subscribe ..."), and quotes no one (a quoted "you" is someone speaking)."""
    if _QUOTED.search(text):
        return False
    return bool(_TO_READER.search(text) or _IMPERATIVE.match(text))


def _rule_reason(block: Block) -> str | None:
    """The furniture reason a block has on its own, or None."""
    text = block.text
    # A sign-up form is short and speaks to the reader; an article may well mention signing up.
    if len(text) <= SHORT_BLOCK and _NEWSLETTER.search(text) and _addresses_reader(text):
        return "newsletter"
    if _LINK.fullmatch(text):
        return "link"
    if _CAPTION_LABEL.match(text) and len(text) <= MAX_CAPTION:
        return "caption"
    if len(text) > 300:
        return None
    if _PUBLISHED.fullmatch(text) or _BOILERPLATE.fullmatch(text):
        return "boilerplate"
    if _DATE_ONLY.fullmatch(text) or _CREDIT.fullmatch(text):
        return "dateline"
    if _BYLINE.fullmatch(text) and not _is_terminated(text):
        return "dateline"
    if not _is_terminated(text) and len(text) <= 120 and _PHOTO_CAPTION.search(text):
        return "caption"
    return None


def _in_form(text: str, previous: str, after: str | None) -> bool:
    """A block right under a sign-up block that belongs to the same form."""
    # its tag line ("The day's top stories ..."), between form blocks or after a "...:" prompt
    if len(text) <= SHORT_BLOCK and (after == "newsletter" or previous.endswith(":")):
        return True
    # its small print: longer, but still addressed to whoever signs up
    return len(text) <= 2 * SHORT_BLOCK and bool(_NEWSLETTER.search(text)) and _addresses_reader(text)


def _rule_reasons(blocks: Sequence[Block]) -> list[str | None]:
    """Rules per block, then the rules that need a block's neighbours."""
    reasons = [_rule_reason(block) for block in blocks]
    for i, block in enumerate(blocks):
        label = _CAPTION_LABEL.match(block.text)
        # A bare "Image caption," label: the caption itself is the next block.
        if (
            label
            and label.end() == len(block.text)
            and i + 1 < len(blocks)
            and reasons[i + 1] is None
            and len(blocks[i + 1].text) <= MAX_CAPTION
        ):
            reasons[i + 1] = "caption"
    for i, block in enumerate(blocks):
        if reasons[i] is not None:
            continue
        before = reasons[i - 1] if i > 0 else None
        after = reasons[i + 1] if i + 1 < len(blocks) else None
        if before == "newsletter" and _in_form(block.text, blocks[i - 1].text, after):
            reasons[i] = "newsletter"
        # A photo caption under (or above) a credit/dateline: unterminated, present tense, dated.
        elif (
            not _is_terminated(block.text)
            and len(block.text) <= 300
            and _HAS_DATE.search(block.text)
            and (_PASSIVE_NOW.search(block.text) or "dateline" in (before, after))
        ):
            reasons[i] = "caption"
    return reasons


# Content check. Similarities are cosine between all-MiniLM-L6-v2 embeddings of blocks.
MIN_BLOCKS = 4  # fewer blocks than this give no reliable picture of the main body
CORE_DENSITY = 0.75  # a block is in the body's core when its density is this share of the max
OFF_TOPIC = 0.25  # a block relating less than this to the body is off-topic
RUN_MEAN = 0.20  # ... and a run of them must, on average, relate less than this
MIN_RUN = 2  # a single odd last paragraph is kept: lists of headlines come in runs
MAX_RUN_BLOCK = 400  # characters; headline lists are short blocks, long paragraphs are body
MIN_PROSE_WORDS = 3
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z][a-z'’-]+\b")
_EMBED_CHARS = 300  # the opening of a block says what it is about; longer costs time


def _relatedness(vectors: np.ndarray) -> np.ndarray:
    """How strongly each block belongs to the article's main body, from its embeddings."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -1.0)
    k = min(4, len(vectors) - 1)
    # Density: body paragraphs resemble several others; a headline resembles its blurb at most.
    density = np.sort(sims, axis=1)[:, -k:].mean(axis=1)
    core = np.flatnonzero(density >= CORE_DENSITY * density.max())
    core = np.union1d(core, [0])  # news leads with its story
    centroid = vectors[core].mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    to_centroid = vectors @ centroid
    support = np.sort(sims[:, core], axis=1)[:, -min(2, len(core)) :].mean(axis=1)
    return np.maximum(to_centroid, support)


def _is_prose(text: str) -> bool:
    """True when a block reads as words (a few lower-case ones), not a list of names or figures."""
    return len(_LOWER_WORD.findall(text)) >= MIN_PROSE_WORDS


def _off_topic_tail(blocks: Sequence[Block], relatedness: np.ndarray) -> int:
    """Index where a trailing run of off-topic blocks starts (len(blocks) when there is none)."""
    # Only short prose can be a headline or a blurb; a short block of names and figures (a
    # line-up, an attendance, a score) is the data of the story above it, however unlike it reads.
    listed = [len(b.text) <= MAX_RUN_BLOCK and _is_prose(b.text) for b in blocks]
    gain = np.where(listed, OFF_TOPIC - relatedness, -1.0)
    # The suffix with the largest total gain: a related headline inside the list does not end
    # it, while a body paragraph before the list (strongly related) is left out of it.
    suffix_gain = np.cumsum(gain[::-1])[::-1]
    start = int(np.argmax(suffix_gain))
    run = relatedness[start:]
    if (
        suffix_gain[start] <= 0
        or len(run) < MIN_RUN
        or start < 2
        or run.mean() > RUN_MEAN
        or run[-1] >= OFF_TOPIC  # an article that ends on its subject has no tail
    ):
        return len(blocks)
    return start


def _content_reasons(blocks: Sequence[Block], vectors: np.ndarray) -> list[str | None]:
    start = _off_topic_tail(blocks, _relatedness(vectors))
    return [None if i < start else "off-topic" for i in range(len(blocks))]


def _mark_repeated(blocks_of: Sequence[Sequence[Block]], reasons_of: list[list[str | None]]) -> None:
    """Mark short blocks that many documents repeat word for word and that are not a sentence of
    reporting (unterminated, or speaking to the reader): a site's own links and calls to action."""
    seen: dict[str, set[str]] = {}
    for blocks in blocks_of:
        opening = blocks[0].text if blocks else ""
        for block in blocks:
            if len(block.text) <= SHORT_BLOCK:
                seen.setdefault(" ".join(block.text.lower().split()), set()).add(opening)
    for blocks, reasons in zip(blocks_of, reasons_of, strict=True):
        for i, block in enumerate(blocks):
            key = " ".join(block.text.lower().split())
            if (
                reasons[i] is None
                and len(seen.get(key, ())) >= REPEATED_IN
                and (not _is_terminated(block.text) or _addresses_reader(block.text))
            ):
                reasons[i] = "repeated"


def find_furniture(doc: Document, encoder: Encoder | None) -> list[DroppedSpan]:
    """Spans of ``doc.text`` that are page furniture, sorted; rules only when encoder is None."""
    return find_furniture_all([doc], encoder)[0]


def find_furniture_all(docs: Sequence[Document], encoder: Encoder | None) -> list[list[DroppedSpan]]:
    """``find_furniture`` of several documents, their blocks embedded together in one call (the
    encoder batches them across both cores; a document alone rarely fills one batch)."""
    blocks_of = [split_blocks(doc.text) for doc in docs]
    reasons_of = [_rule_reasons(blocks) for blocks in blocks_of]
    _mark_repeated(blocks_of, reasons_of)
    if encoder is not None:
        checked = [  # (document, indices of the blocks the rules kept) where there are enough
            (d, kept) for d, reasons in enumerate(reasons_of)
            if len(kept := [i for i, reason in enumerate(reasons) if reason is None]) >= MIN_BLOCKS
        ]
        vectors = encoder.encode(
            [blocks_of[d][i].text[:_EMBED_CHARS] for d, kept in checked for i in kept]
        )
        offset = 0
        for d, kept in checked:
            mine = vectors[offset : offset + len(kept)]
            offset += len(kept)
            found = _content_reasons([blocks_of[d][i] for i in kept], mine)
            for i, reason in zip(kept, found, strict=True):
                reasons_of[d][i] = reason
    return [
        _spans(doc, blocks, reasons) for doc, blocks, reasons in zip(docs, blocks_of, reasons_of, strict=True)
    ]


def _spans(doc: Document, blocks: Sequence[Block], reasons: Sequence[str | None]) -> list[DroppedSpan]:
    # Consecutive blocks dropped for the same reason make one span (the text between is blank).
    runs: list[tuple[int, int, str]] = []
    previous: str | None = None
    for block, reason in zip(blocks, reasons, strict=True):
        if reason is not None and reason == previous:
            runs[-1] = (runs[-1][0], block.end, reason)
        elif reason is not None:
            runs.append((block.start, block.end, reason))
        previous = reason
    return [
        DroppedSpan(doc_id=doc.doc_id, start=start, end=end, reason=reason, text=doc.text[start:end])
        for start, end, reason in runs
    ]
