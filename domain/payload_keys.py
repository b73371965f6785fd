"""Idempotency keys: a caller's name for one payload, so that a retry is not a second one.

A payload recorded under a key claims it: the ``PayloadKey`` aggregate of that key (its
id derived from the workspace and the key) records, in the same transaction as the
payload's decision, a digest of the payload and which event recorded its decision.  A
second writer claiming the same key takes the same version of the same aggregate, and
the store refuses it: one decision per key, whatever the processes had in memory.  A
claim older than the key's lifetime can be taken again (the next version).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from .errors import InvalidArgument
from .events import new_event

#: How long a key stands for its payload: a retry within it is the same payload.
KEY_LIFETIME = timedelta(hours=24)
#: The longest key taken (characters).
MAX_KEY_LENGTH = 255


def check_key(key: object) -> str:
    """``key`` if it can be an idempotency key: 1 to 255 printable ASCII characters."""
    if not isinstance(key, str):
        raise InvalidArgument(f"an idempotency key is a string, not {type(key).__name__}")
    if not 0 < len(key) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        raise InvalidArgument(
            f"an idempotency key is 1 to {MAX_KEY_LENGTH} printable ASCII characters"
        )
    return key


def payload_digest(text: str) -> str:
    """The digest a claim keeps of the payload's recorded text."""
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


class PayloadKey(Aggregate):
    """One idempotency key of a workspace and the payload that holds it now."""

    class Claimed(Aggregate.Created):
        """The payload with ``digest`` took the key; its decision is the event
        ``decision_version`` of the aggregate ``decision_id``."""

        workspace_id: UUID
        key: str
        digest: str
        decision_id: UUID
        decision_version: int

    class Reclaimed(Aggregate.Event):
        """The key, past its lifetime, was taken by another payload (same attributes)."""

        workspace_id: UUID
        key: str
        digest: str
        decision_id: UUID
        decision_version: int

    @staticmethod
    def create_id(workspace_id: UUID, key: str) -> UUID:
        return uuid5(workspace_id, f"payload-key/{key}")

    @event(Claimed)
    def __init__(
        self,
        workspace_id: UUID,
        key: str,
        digest: str,
        decision_id: UUID,
        decision_version: int,
    ) -> None:
        self._hold(digest, decision_id, decision_version)

    @event(Reclaimed)
    def _reclaimed(
        self,
        workspace_id: UUID,
        key: str,
        digest: str,
        decision_id: UUID,
        decision_version: int,
    ) -> None:
        self._hold(digest, decision_id, decision_version)

    def _hold(self, digest: str, decision_id: UUID, decision_version: int) -> None:
        self.digest = digest
        self.decision = (decision_id, decision_version)

    @property
    def claimed_at(self) -> datetime:
        """When the payload that holds the key now took it (its only kind of event)."""
        return self.modified_on

    def expired(self, now: datetime, lifetime: timedelta = KEY_LIFETIME) -> bool:
        """Whether the key is free again at ``now``."""
        return now - self.claimed_at >= lifetime

    @classmethod
    def claim(
        cls,
        current: PayloadKey | None,
        workspace_id: UUID,
        key: str,
        digest: str,
        decision: tuple[UUID, int],
    ) -> PayloadKey.Claimed | PayloadKey.Reclaimed:
        """The event by which the payload with ``digest`` takes ``key`` (held before by
        ``current``, expired, or by nobody), its decision recorded by ``decision``."""
        attrs = {
            "workspace_id": workspace_id,
            "key": key,
            "digest": digest,
            "decision_id": decision[0],
            "decision_version": decision[1],
        }
        key_id = cls.create_id(workspace_id, key)
        if current is None:
            return new_event(cls.Claimed, key_id, 1, originator_topic=_TOPIC, **attrs)
        return new_event(cls.Reclaimed, key_id, current.version + 1, **attrs)


_TOPIC = get_topic(PayloadKey)
