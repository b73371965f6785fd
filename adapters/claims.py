"""Idempotency keys and input progress, as a batch of payloads is decided and recorded.

Before a batch is decided, each payload with a key is found to be new (it will claim
the key), a repeat of the payload that holds the key (already recorded, or earlier in
the batch), or another payload under a key that is taken (``KeyReused``).  Only new
payloads are decided; their claims are recorded in the same transaction as their
decisions (see ``domain.payload_keys``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from leadkey.domain.errors import ConcurrencyError, KeyReused
from leadkey.domain.inputs import InputProgress
from leadkey.domain.payload_keys import PayloadKey, payload_digest

from .views import Submission


@dataclass(frozen=True, slots=True)
class NewClaim:
    """A payload that takes its key (from ``current``, expired, or from nobody)."""

    current: PayloadKey | None
    digest: str

    def event(self, workspace_id: UUID, key: str, decision: Any) -> Any:
        """The claim, for the payload whose decision is the event ``decision``."""
        where = (decision.originator_id, decision.originator_version)
        return PayloadKey.claim(self.current, workspace_id, key, self.digest, where)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A repeat of the payload whose decision is event ``version`` of ``aggregate``."""

    aggregate: UUID
    version: int


@dataclass(frozen=True, slots=True)
class SameAs:
    """A repeat of the payload at index ``first`` of the same batch."""

    first: int


KeyState = NewClaim | Recorded | SameAs | KeyReused | None


def key_states(
    repository: Any,
    workspace_id: UUID,
    submissions: Sequence[Submission],
    texts: Sequence[str],
    lifetime: timedelta,
    *,
    read: bool = True,
) -> list[KeyState]:
    """What each payload's key makes of it (None: it has no key).

    Without ``read``, every key is taken to be free (no claim is read): the store
    refuses the batch if one is not, and the caller decides it again with ``read``.
    Keys are new far more often than retried, and a read per key is the most a batch
    of keyed payloads would otherwise cost."""
    now = datetime.now(UTC)
    states: list[KeyState] = []
    first: dict[str, tuple[int, str]] = {}
    for index, (submission, text) in enumerate(zip(submissions, texts, strict=True)):
        key = submission.key
        if key is None:
            states.append(None)
            continue
        digest = payload_digest(text)
        if key in first:
            earlier, earlier_digest = first[key]
            states.append(SameAs(earlier) if digest == earlier_digest else KeyReused(key))
            continue
        first[key] = (index, digest)
        current = _get(repository, PayloadKey.create_id(workspace_id, key)) if read else None
        if current is None or current.expired(now, lifetime):
            states.append(NewClaim(current, digest))
        elif current.digest == digest:
            states.append(Recorded(*current.decision))
        else:
            states.append(KeyReused(key))
    return states


@dataclass(slots=True)
class Progress:
    """How many payloads of an input are recorded (``done``), as of its ``version``."""

    workspace_id: UUID
    input_id: str
    version: int
    done: int

    @classmethod
    def read(cls, repository: Any, workspace_id: UUID, input_id: str) -> Progress:
        found = _get(repository, InputProgress.create_id(workspace_id, input_id))
        if found is None:
            return cls(workspace_id, input_id, 0, 0)
        return cls(workspace_id, input_id, found.version, found.payloads)

    def event(self, count: int) -> Any:
        """The event that records ``count`` more payloads of the input."""
        return InputProgress.advance(
            self.workspace_id, self.input_id, self.version, self.done + count
        )

    def advanced(self, count: int) -> None:
        self.version += 1
        self.done += count

    def check(self, repository: Any) -> None:
        """Raise ``ConcurrencyError`` if another run recorded some of the input meanwhile."""
        if Progress.read(repository, self.workspace_id, self.input_id).version != self.version:
            raise ConcurrencyError(
                f"another run is recording input {self.input_id!r}: this one stopped"
            )


def _get(repository: Any, aggregate_id: UUID) -> Any:
    try:
        return repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
