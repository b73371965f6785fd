"""Building an aggregate's event without loading the aggregate."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import DomainEvent

E = TypeVar("E", bound=DomainEvent)


def new_event(event_class: type[E], originator_id: UUID, version: int, **attrs: Any) -> E:
    """An event of ``event_class`` for the aggregate ``originator_id`` at ``version``.

    The store's uniqueness of (aggregate id, version) refuses it if that version was
    taken meanwhile: optimistic concurrency without reading the aggregate back.
    """
    return event_class(
        originator_id=originator_id,
        originator_version=version,
        timestamp=event_class.create_timestamp(),
        **attrs,
    )
