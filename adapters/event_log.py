"""The ``eventsourcing`` application that leadkey records through."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application


class LeadLog(Application[UUID]):
    """leadkey's event store, notification log and repository.  Internal: its ``save``
    and repository would bypass leadkey's rules; ``Leadkey`` is the way in."""

    name = "leadkey"
