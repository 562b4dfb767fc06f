"""The project's exception tree. Pipeline code raises these; ``qa.app`` maps them to HTTP.

    QAError
    ├── IndexProblem                 the on-disk index cannot be used ("run `qa index`")
    │   ├── IndexNotFound            no index in the data directory
    │   ├── IndexIncompatible        built by another embedding model or an older format
    │   └── IndexCorrupt             a file is truncated or unreadable (names the file)
    ├── InvalidQuestion              empty, whitespace-only or too long
    ├── InvalidDocument              a document that cannot be indexed (empty text, bad date, ...)
    │   └── DocumentTooLarge         longer than QA_MAX_DOCUMENT_CHARS (HTTP 413)
    ├── DocumentNotFound             no document with that id
    ├── WritesDisabled               no admin key configured, so the corpus is read-only
    └── BackendError                 the LLM backend failed (foreign errors translated in qa.llm)
        ├── BackendUnavailable       connection refused, DNS, network
        ├── BackendTimeout           no complete answer within QA_LLM_TIMEOUT
        └── BackendResponseError     5xx or another error status, unusable content
            ├── MalformedResponse    not the JSON an OpenAI-compatible server sends
            └── EmptyResponse        a well-formed reply with no answer text in it
"""

from __future__ import annotations


class QAError(Exception):
    """Base of every error this project raises on purpose."""


class IndexProblem(QAError):
    """The index on disk cannot be used; the message says how to fix it."""


class IndexNotFound(IndexProblem):
    pass


class IndexIncompatible(IndexProblem):
    pass


class IndexCorrupt(IndexProblem):
    pass


class InvalidQuestion(QAError):
    pass


class InvalidDocument(QAError):
    pass


class DocumentTooLarge(InvalidDocument):
    pass


class DocumentNotFound(QAError):
    pass


class WritesDisabled(QAError):
    pass


class BackendError(QAError):
    pass


class BackendUnavailable(BackendError):
    pass


class BackendTimeout(BackendError):
    pass


class BackendResponseError(BackendError):
    pass


class MalformedResponse(BackendResponseError):
    pass


class EmptyResponse(BackendResponseError):
    pass
