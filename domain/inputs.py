"""How far an input (a stream of payloads, such as a file) has been recorded, so that an
interrupted ingest resumes where it stopped instead of recording its payloads again."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from .events import new_event


class InputProgress(Aggregate):
    """The count of an input's payloads recorded in a workspace.

    Each batch of the input records the next version in the same transaction as its
    decisions: the count never says more or less than what the log holds, and two runs
    of one input cannot both record a batch after the same count.
    """

    class Started(Aggregate.Created):
        workspace_id: UUID
        input_id: str
        payloads: int

    class Advanced(Aggregate.Event):
        payloads: int

    @staticmethod
    def create_id(workspace_id: UUID, input_id: str) -> UUID:
        return uuid5(workspace_id, f"input/{input_id}")

    @event(Started)
    def __init__(self, workspace_id: UUID, input_id: str, payloads: int) -> None:
        self.workspace_id = workspace_id
        self.input_id = input_id
        self.payloads = payloads

    @event(Advanced)
    def _advanced(self, payloads: int) -> None:
        self.payloads = payloads

    @classmethod
    def advance(
        cls, workspace_id: UUID, input_id: str, version: int, payloads: int
    ) -> InputProgress.Started | InputProgress.Advanced:
        """The event that says the input's first ``payloads`` are recorded, after the
        progress at ``version`` (0: none yet)."""
        progress_id = cls.create_id(workspace_id, input_id)
        if version == 0:
            return new_event(
                cls.Started,
                progress_id,
                1,
                originator_topic=_TOPIC,
                workspace_id=workspace_id,
                input_id=input_id,
                payloads=payloads,
            )
        return new_event(cls.Advanced, progress_id, version + 1, payloads=payloads)


_TOPIC = get_topic(InputProgress)
