"""The ``DecisionSequence`` aggregate: the order of a workspace's matching steps."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .events import new_event


class DecisionSequence(Aggregate):
    """Numbers the steps of one workspace's matching.

    Every batch of decisions and every configuration change takes the next version of
    this aggregate, in the same transaction as its own events.  Two writers cannot take
    one version, so a batch decided under a configuration (or an index) that another
    writer has changed since is refused by the store and decided again.
    """

    class SequenceStarted(Aggregate.Created):
        workspace_id: UUID

    class Stepped(Aggregate.Event):
        workspace_id: UUID
        kind: str
        payloads: int

    @staticmethod
    def create_id(workspace_id: UUID) -> UUID:
        return uuid5(workspace_id, "decision-sequence")

    @event(SequenceStarted)
    def __init__(self, workspace_id: UUID) -> None:
        self.workspace_id = workspace_id

    @classmethod
    def step(
        cls, workspace_id: UUID, version: int, kind: str, payloads: int = 0
    ) -> DecisionSequence.Stepped:
        """The event that takes step ``version + 1``: ``kind`` is "decisions" (a batch of
        ``payloads``) or "configuration"."""
        return new_event(
            cls.Stepped,
            cls.create_id(workspace_id),
            version + 1,
            workspace_id=workspace_id,
            kind=kind,
            payloads=payloads,
        )

    @event(Stepped)
    def _stepped(self, workspace_id: UUID, kind: str, payloads: int) -> None:
        pass
