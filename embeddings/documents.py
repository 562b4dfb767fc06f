"""Load articles from a directory (``*.txt`` + optional ``manifest.json``) or from the API.

The text of a document is kept exactly as it was read (CRLF, BOM and all): every offset the
later stages produce points into it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from embeddings.records import Document
from qa.errors import InvalidDocument

MANIFEST_NAME = "manifest.json"
TITLE_MAX_CHARS = 120
DOC_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s")


def derive_title(text: str) -> str:
    """A title from the text itself: its first line, else its first sentence, at most ~120 chars."""
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first_line
    if len(title) > TITLE_MAX_CHARS:
        match = _SENTENCE_END.search(title)
        if match:
            title = title[: match.start()].strip()
    if len(title) > TITLE_MAX_CHARS:
        cut = title[: TITLE_MAX_CHARS + 1].rsplit(None, 1)[0] if " " in title else title
        title = cut[:TITLE_MAX_CHARS].rstrip(" ,;:-–—") + "…"
    return title


def derive_doc_id(text: str) -> str:
    """A stable id for a document sent without one: a hash of its text."""
    return "doc_" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _clean_optional(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidDocument(f"{field} must be a string, not {type(value).__name__}")
    value = value.strip()
    return value or None


def _check_published(published: str | None) -> str | None:
    if published is None:
        return None
    try:
        if not _ISO_DATE.fullmatch(published):
            raise ValueError(published)
        dt.date.fromisoformat(published)
    except ValueError:
        raise InvalidDocument(f"published must be a date written YYYY-MM-DD, not {published!r}") from None
    return published


def make_document(
    text: str,
    doc_id: str | None = None,
    title: str | None = None,
    source: str | None = None,
    published: str | None = None,
    url: str | None = None,
    author: str | None = None,
) -> Document:
    """Validate one document's fields and build it; raises InvalidDocument saying what is wrong."""
    if not isinstance(text, str):
        raise InvalidDocument(f"text must be a string, not {type(text).__name__}")
    if not text.strip():
        raise InvalidDocument("text is empty or only whitespace; there is nothing to index")
    if doc_id is not None and (not isinstance(doc_id, str) or not DOC_ID_PATTERN.fullmatch(doc_id)):
        raise InvalidDocument(
            f"doc_id must be 1-128 characters of letters, digits, '_', '.' or '-', not {doc_id!r}"
        )
    title = _clean_optional(title, "title")
    return Document(
        doc_id=doc_id if doc_id is not None else derive_doc_id(text),
        title=title if title is not None else derive_title(text),
        source=_clean_optional(source, "source"),
        published=_check_published(_clean_optional(published, "published")),
        text=text,
        url=_clean_optional(url, "url"),
        author=_clean_optional(author, "author"),
    )


def _read_manifest(directory: Path) -> dict[str, dict[str, Any]]:
    path = directory / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidDocument(f"{path} is not readable JSON: {exc}") from exc
    entries = data.get("documents", []) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise InvalidDocument(f"{path}: 'documents' must be a list")
    by_file: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            by_file[entry["file"]] = entry
    return by_file


def load_documents(directory: Path) -> list[Document]:
    """Every ``*.txt`` in ``directory`` (sorted by name), with metadata from ``manifest.json``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidDocument(f"{directory} is not a directory")
    manifest = _read_manifest(directory)
    documents = []
    for path in sorted(directory.glob("*.txt")):
        try:
            # newline="" keeps CRLF as it is on disk, so offsets match the file byte for byte.
            with path.open(encoding="utf-8", newline="") as handle:
                text = handle.read()
        except UnicodeDecodeError as exc:
            raise InvalidDocument(f"{path} is not UTF-8 text: {exc}") from exc
        meta = manifest.get(path.name, {})
        try:
            documents.append(
                make_document(
                    text,
                    doc_id=path.stem,
                    title=meta.get("title"),
                    source=meta.get("source"),
                    published=meta.get("published"),
                )
            )
        except InvalidDocument as exc:
            raise InvalidDocument(f"{path}: {exc}") from exc
    return documents
