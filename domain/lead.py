"""The ``Lead`` aggregate and the record every decision carries."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from .events import new_event


def lead_id(workspace_id: UUID, generation: int, key: str) -> UUID:
    """The id of the lead created for ``key`` under identifier generation ``generation``.

    Two processes that create a lead for one key derive one id, so the store's
    uniqueness of aggregate ids refuses the second: no duplicate lead, whatever
    either process had in memory.
    """
    return uuid5(workspace_id, f"lead/{generation}/{key}")


class Lead(Aggregate):
    """A lead: its field values, created and updated only by recorded decisions.

    Both events carry the decision record (raw payload, identifier field, type,
    default country and generation in force, normalized key, fields applied /
    rejected / ignored, normalizer versions, source) so that any decision can be
    replayed and explained from the log alone.  ``ignored`` holds ``[name, reason]``
    pairs: its names come from the payload, and a JSON object keyed by them could
    read back as a transcoded value.
    """

    # The events are declared (not only named in ``@event``) so that type checkers know
    # their attributes; their fields are the parameters of the methods that apply them.

    class LeadCreated(Aggregate.Created):
        """A decision created the lead (with the decision record described above)."""

        workspace_id: UUID
        generation: int
        key: str
        identifier: str
        identifier_type: str
        country: str
        payload: str
        applied: dict[str, Any]
        keys: dict[str, str | None]
        rejected: dict[str, str]
        ignored: list[tuple[str, str]]
        normalizer: str
        source: dict[str, Any] | None

    class LeadFieldsUpdated(Aggregate.Event):
        """A decision matched the lead and applied its fields (the same record)."""

        workspace_id: UUID
        generation: int
        key: str
        identifier: str
        identifier_type: str
        country: str
        payload: str
        applied: dict[str, Any]
        keys: dict[str, str | None]
        rejected: dict[str, str]
        ignored: list[tuple[str, str]]
        normalizer: str
        source: dict[str, Any] | None

    @staticmethod
    def create_id(workspace_id: UUID, generation: int, key: str) -> UUID:
        return lead_id(workspace_id, generation, key)

    @event(LeadCreated)
    def __init__(
        self,
        workspace_id: UUID,
        generation: int,
        key: str,
        identifier: str,
        identifier_type: str,
        country: str,
        payload: str,
        applied: dict[str, Any],
        keys: dict[str, str | None],
        rejected: dict[str, str],
        ignored: list[tuple[str, str]],
        normalizer: str,
        source: dict[str, Any] | None,
    ) -> None:
        self.workspace_id = workspace_id
        self.identifier = identifier
        self.key = key
        self.fields = dict(applied)

    @classmethod
    def created(cls, lead: UUID, workspace_id: UUID, **record: Any) -> Lead.LeadCreated:
        """The event that creates the lead ``lead`` from a decision (without building it).

        ``lead`` is :func:`lead_id` of the decision's key and generation, so a second
        writer creating a lead for the same key is refused by the store.
        """
        return new_event(
            cls.LeadCreated,
            lead,
            1,
            originator_topic=_LEAD_TOPIC,
            workspace_id=workspace_id,
            **record,
        )

    @classmethod
    def fields_updated(cls, lead: UUID, version: int, **record: Any) -> Lead.LeadFieldsUpdated:
        """The event that applies a match decision to the lead ``lead`` at ``version``.

        The decision needs only the index (which lead the key matched), not the
        lead's state, so the event is built without loading the lead; the store's
        optimistic concurrency refuses it if ``version`` is no longer current.
        """
        return new_event(cls.LeadFieldsUpdated, lead, version + 1, **record)

    @event(LeadFieldsUpdated)
    def _fields_updated(
        self,
        workspace_id: UUID,
        generation: int,
        key: str,
        identifier: str,
        identifier_type: str,
        country: str,
        payload: str,
        applied: dict[str, Any],
        keys: dict[str, str | None],
        rejected: dict[str, str],
        ignored: list[tuple[str, str]],
        normalizer: str,
        source: dict[str, Any] | None,
    ) -> None:
        self.fields = {**self.fields, **applied}


class DroppedPayload(Aggregate):
    """A payload that was not applied, with the reason code and an explanation."""

    class PayloadDropped(Aggregate.Created):
        """The payload's decision record: the reason code, its explanation, and the
        identifier settings in force (None where there was no workspace)."""

        workspace_id: UUID
        workspace: str
        reason: str
        message: str
        payload: str
        identifier: str | None
        identifier_type: str | None
        country: str | None
        generation: int | None
        normalizer: str
        source: dict[str, Any] | None

    @classmethod
    def dropped(cls, **record: Any) -> DroppedPayload.PayloadDropped:
        """The event that records a dropped payload (a new one-event aggregate)."""
        return new_event(cls.PayloadDropped, uuid4(), 1, originator_topic=_DROPPED_TOPIC, **record)

    @event(PayloadDropped)
    def __init__(
        self,
        workspace_id: UUID,
        workspace: str,
        reason: str,
        message: str,
        payload: str,
        identifier: str | None,
        identifier_type: str | None,
        country: str | None,
        generation: int | None,
        normalizer: str,
        source: dict[str, Any] | None,
    ) -> None:
        self.workspace_id = workspace_id
        self.reason = reason
        self.message = message


_LEAD_TOPIC = get_topic(Lead)
_DROPPED_TOPIC = get_topic(DroppedPayload)

#: The events that record a decision about a payload: created, updated, dropped.
DECISION_EVENTS = (Lead.LeadCreated, Lead.LeadFieldsUpdated, DroppedPayload.PayloadDropped)
