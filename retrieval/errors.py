"""One small hierarchy of errors whose messages are safe to show to a user."""

from __future__ import annotations


class NewsbotError(Exception):
    """Base class: the message is meant for the person running newsbot."""


class ConfigError(NewsbotError):
    """The configuration file or an environment override is invalid."""


class IndexMissingError(NewsbotError):
    """No index has been built yet."""


class IndexMismatchError(NewsbotError):
    """The index was built with another embedding model or chunking."""


class IndexCorruptError(NewsbotError):
    """An index file is truncated, altered or unreadable; it is never served."""


class IngestLockedError(NewsbotError):
    """Another ingest holds the writer lock."""


class InputError(NewsbotError):
    """A request is malformed: an empty or over-long question, a bad date."""


class EmptyQuestionError(InputError):
    """The question has no visible text."""


class QuestionTooLongError(InputError):
    """The question is longer than ``answer.max_question_chars``."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"the question is {length} characters; the limit is {limit}")
        self.length = length
        self.limit = limit


class ArticleConflictError(InputError):
    """An added article would replace or shadow one that came from elsewhere."""


class SessionStoreError(NewsbotError):
    """The conversation store cannot be read or written (locked, corrupt, disk full)."""


class DatabaseUnavailableError(NewsbotError):
    """The PostgreSQL database (store.backend: postgres) cannot be reached right now."""
