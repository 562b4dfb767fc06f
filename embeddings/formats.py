"""Read news as newsrooms keep it: HTML pages, JSON Lines exports, RSS/Atom feeds, Markdown, plain text.

Each reader turns one file into Documents whose ``text`` is what it extracted, so every offset points
into that text. A file (or one record of a file) that cannot be read becomes a Problem naming it, and
the rest go on.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec

from embeddings.documents import MANIFEST_NAME, _read_manifest, derive_doc_id, make_document
from embeddings.records import Document
from qa.errors import InvalidDocument

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.DOTALL)
_BLOCK_TAGS = frozenset({
    "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr",
    "section", "article", "header", "footer", "figure",
})


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """A file, or one record of it, that could not be read, and why."""

    path: str
    reason: str


class Ingested(msgspec.Struct, frozen=True, kw_only=True):
    """What reading a folder or a list of files produced."""

    documents: list[Document]
    problems: list[Problem]
    skipped: list[str]  # files of no known format


Meta = Mapping[str, Any]
Item = Document | Problem
Reader = Callable[[Path, Meta], Iterator[Item]]


def iso_date(value: object) -> str | None:
    """``YYYY-MM-DD`` from an ISO 8601 or RFC 2822 date/time, a date, or a time.struct_time."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    if isinstance(value, time.struct_time):
        return time.strftime("%Y-%m-%d", value)
    if not isinstance(value, str):
        raise InvalidDocument(f"a date must be a string, not {type(value).__name__}")
    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError):
        raise InvalidDocument(f"cannot read the date {value!r} (ISO 8601 or RFC 2822 expected)") from None


def file_doc_id(path: Path) -> str:
    """The id of a document read from a whole file: its name without the extension."""
    safe = _ID_UNSAFE.sub("-", path.stem).strip("-")[:128]
    return safe or derive_doc_id(str(path))


def _url_doc_id(url: str) -> str:
    return "doc_" + hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _first(meta: Meta, *keys: str) -> Any:
    return next((meta[k] for k in keys if meta.get(k) not in (None, "")), None)


def _document(text: str, meta: Meta, **found: Any) -> Document:
    """A Document from extracted text; metadata given in ``meta`` (a manifest) wins over ``found``."""

    def pick(*keys: str) -> Any:
        value = _first(meta, *keys)
        return value if value is not None else found.get(keys[0])

    return make_document(
        text, doc_id=pick("doc_id"), title=pick("title"), source=pick("source"),
        published=iso_date(pick("published", "published_at", "date")), url=pick("url"),
        author=pick("author"),
    )


def html_fragment_text(fragment: str) -> str:
    """Plain text of an HTML snippet (a feed entry's content), one paragraph per block element."""
    import lxml.html

    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for element in root.iter():
        if element.tag == "br":
            element.tail = "\n" + (element.tail or "")
        elif element.tag in _BLOCK_TAGS:
            element.tail = "\n\n" + (element.tail or "")
    paragraphs = (" ".join(p.split()) for p in root.text_content().split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def read_html(path: Path, meta: Meta) -> Iterator[Item]:
    """A web page: main text and metadata by trafilatura (nav, ads, footer and asides left out)."""
    import trafilatura.settings

    page = trafilatura.bare_extraction(
        path.read_bytes(), url=_first(meta, "url"), with_metadata=True, include_comments=False,
        include_tables=True,
    )
    if not isinstance(page, trafilatura.settings.Document) or not (page.text or "").strip():
        raise InvalidDocument("no article text found in the page")
    yield _document(
        page.text or "", meta, doc_id=file_doc_id(path), title=page.title, published=page.date,
        source=page.sitename or page.hostname, url=page.url, author=page.author,
    )


def read_jsonl(path: Path, meta: Meta) -> Iterator[Item]:
    """One document per line: title, body|text, published_at|published, source, url, author, id."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise InvalidDocument(f"a line must hold a JSON object, not {type(record).__name__}")
                text = _first(record, "body", "text", "content")
                if text is None:
                    raise InvalidDocument("the record has no body, text or content")
                url = _first(record, "url", "link")
                doc_id = _first(record, "doc_id", "id")
                if doc_id is None:
                    doc_id = _url_doc_id(url) if isinstance(url, str) else None
                yield _document(text, {**record, "doc_id": doc_id, "url": url, **meta})
            except json.JSONDecodeError as exc:
                yield Problem(path=where, reason=f"not JSON: {exc}")
            except InvalidDocument as exc:
                yield Problem(path=where, reason=str(exc))


def read_feed(path: Path, meta: Meta) -> Iterator[Item]:
    """An RSS or Atom feed file: one document per entry, its text from the entry's content or summary."""
    import feedparser

    feed = feedparser.parse(path.read_bytes())
    if not feed.entries:
        if feed.bozo:
            raise InvalidDocument(f"not a readable feed: {feed.get('bozo_exception')}")
        raise InvalidDocument("the feed has no entries")
    source = feed.feed.get("title")
    for number, entry in enumerate(feed.entries, 1):
        where = f"{path} entry {number}"
        try:
            parts = entry.get("content") or [entry.get("summary_detail") or {}]
            body = parts[0].get("value", "")
            if "html" in parts[0].get("type", "text/html"):
                body = html_fragment_text(body)
            link = entry.get("link") or entry.get("id")
            yield _document(
                body, meta, doc_id=_url_doc_id(link) if link else None, title=entry.get("title"),
                published=entry.get("published") or entry.get("updated"), source=source, url=link,
                author=entry.get("author"),
            )
        except InvalidDocument as exc:
            yield Problem(path=where, reason=str(exc))


def markdown_text(source: str) -> tuple[str, str | None]:
    """Plain text of Markdown (one paragraph per block, markup removed) and its first heading."""
    from markdown_it import MarkdownIt

    blocks: list[str] = []
    heading: str | None = None
    in_heading = False
    for token in MarkdownIt("commonmark").parse(source):
        if token.type == "heading_open":
            in_heading = True
        elif token.type == "heading_close":
            in_heading = False
        elif token.type == "inline":
            pieces = []
            for child in token.children or []:
                if child.type in ("text", "code_inline"):
                    pieces.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    pieces.append(" " if child.type == "softbreak" else "\n")
            text = "".join(pieces).strip()
            if in_heading and heading is None:
                heading = text
            if text:
                blocks.append(text)
        elif token.type in ("fence", "code_block") and token.content.strip():
            blocks.append(token.content.rstrip())
    return "\n\n".join(blocks), heading


def read_markdown(path: Path, meta: Meta) -> Iterator[Item]:
    """Markdown, with optional YAML front matter (title, date, source, url, author)."""
    import yaml

    source = path.read_text(encoding="utf-8")
    front: dict[str, Any] = {}
    match = _FRONT_MATTER.match(source)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise InvalidDocument(f"the front matter is not YAML: {exc}") from None
        front = loaded if isinstance(loaded, dict) else {}
        source = source[match.end():]
    text, heading = markdown_text(source)
    yield _document(text, {**{k: v for k, v in front.items() if k != "doc_id"}, **meta},
                    doc_id=file_doc_id(path), title=heading)


def read_text(path: Path, meta: Meta) -> Iterator[Item]:
    """Plain UTF-8 text, kept byte for byte (CRLF and all); the title is its first line."""
    # newline="" keeps CRLF as it is on disk, so offsets match the file exactly.
    with path.open(encoding="utf-8", newline="") as handle:
        text = handle.read()
    yield _document(text, meta, doc_id=file_doc_id(path))


READERS: dict[str, Reader] = {
    ".html": read_html, ".htm": read_html,
    ".jsonl": read_jsonl, ".ndjson": read_jsonl,
    ".rss": read_feed, ".atom": read_feed, ".xml": read_feed,
    ".md": read_markdown, ".markdown": read_markdown,
    ".txt": read_text,
}


def read_file(path: Path, meta: Meta | None = None) -> list[Item]:
    """Every document in one file, or a Problem for each part that could not be read."""
    reader = READERS.get(path.suffix)
    if reader is None:
        kind = path.suffix or "files without an extension"
        return [Problem(path=str(path), reason=f"no reader for {kind}")]
    try:
        return list(reader(path, meta or {}))
    except UnicodeDecodeError as exc:
        return [Problem(path=str(path), reason=f"not UTF-8 text: {exc}")]
    except (OSError, ValueError, InvalidDocument) as exc:
        return [Problem(path=str(path), reason=str(exc))]


def _files(source: Path) -> Iterator[Path]:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source).parts
        if path.is_file() and not any(part.startswith(".") for part in relative):
            yield path


def read_paths(paths: Iterable[Path], progress: Callable[[int, int], None] | None = None) -> Ingested:
    """Read files and folders (recursively); manifest.json gives metadata for its folder's files."""
    documents: dict[str, tuple[Document, str]] = {}
    problems: list[Problem] = []
    skipped: list[str] = []
    manifests: dict[Path, Mapping[str, Mapping[str, Any]]] = {}
    files: list[Path] = []
    for given in paths:
        if not given.exists():
            problems.append(Problem(path=str(given), reason="no such file or folder"))
        for path in (_files(given) if given.is_dir() else [given]) if given.exists() else []:
            if path.suffix in READERS and path.name != MANIFEST_NAME:
                files.append(path)
            elif path.name != MANIFEST_NAME:
                skipped.append(str(path))
    for done, path in enumerate(files):
        if progress:
            progress(done, len(files))
        if path.parent not in manifests:
            try:
                manifests[path.parent] = _read_manifest(path.parent)
            except InvalidDocument as exc:
                problems.append(Problem(path=str(path.parent / MANIFEST_NAME), reason=str(exc)))
                manifests[path.parent] = {}
        for item in read_file(path, manifests[path.parent].get(path.name)):
            if isinstance(item, Problem):
                problems.append(item)
            elif item.doc_id in documents and documents[item.doc_id][1] != str(path):
                problems.append(Problem(path=str(path), reason=(
                    f"doc_id {item.doc_id!r} is already used by {documents[item.doc_id][1]}; "
                    "rename one of the files")))
            else:
                documents[item.doc_id] = (item, str(path))
    if progress:
        progress(len(files), len(files))
    return Ingested(documents=[d for d, _ in documents.values()], problems=problems, skipped=skipped)
