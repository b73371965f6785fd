"""The ``eventsourcing`` application that leadkey records through."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder

from .transcoding import SharedUUIDAsHex


class LeadLog(Application[UUID]):
    """leadkey's event store, notification log and repository.  Internal: its ``save``
    and repository would bypass leadkey's rules; ``Leadkey`` is the way in."""

    name = "leadkey"
    env: ClassVar[dict[str, str]] = {
        "TRANSCODER_TOPIC": "leadkey.adapters.transcoding:OrjsonTranscoder"
    }

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """eventsourcing's transcodings, the UUID one reading each recent UUID once."""
        super().register_transcodings(transcoder)
        transcoder.register(SharedUUIDAsHex())

    def aggregate(self, aggregate_id: UUID, version: int | None = None) -> Any:
        """The aggregate as of ``version`` (None: now), from its events (raises
        eventsourcing's ``AggregateNotFoundError``)."""
        return self.repository.get(aggregate_id, version=version, projector_func=project)


def project(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply ``events`` to ``aggregate`` in turn: eventsourcing's ``project_aggregate``
    without its check of each event against a ``typing`` protocol (an ``isinstance``
    that costs a third of a lead's read; leadkey's events are its own classes)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate
