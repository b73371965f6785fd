"""Group commit: single payloads submitted from many threads (or tasks), decided and
recorded together.

One committer thread takes whatever has been submitted since its last commit, up to a
batch, and records each workspace's share in one transaction with one step of that
workspace's decision sequence; each submitter's future is resolved with its own decision
once that transaction has committed.  While one batch commits the next one gathers, so
the more callers there are, the larger the batches: no waiting for a batch to fill.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from queue import SimpleQueue

from leadkey.domain.decisions import Decision
from leadkey.domain.errors import StoreUnavailable

from .views import Submission

#: ``record(workspace, submissions, drop_unknown)``: decide and commit, in order.
Record = Callable[[str, Sequence[Submission], bool], Sequence[Decision]]


@dataclass(slots=True)
class _Pending:
    workspace: str
    submission: Submission
    drop_unknown: bool
    future: Future[Decision] = field(default_factory=Future)


class GroupCommit:
    """Decides and records submitted payloads in batches of up to ``batch_size``, in one
    thread of its own (started on the first submission)."""

    def __init__(self, record: Record, batch_size: int = 1000) -> None:
        self._record = record
        self._batch_size = batch_size
        self._queue: SimpleQueue[_Pending | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(
        self, workspace: str, submission: Submission, drop_unknown: bool
    ) -> Future[Decision]:
        """Queue one payload; its future holds the decision once it is committed, or the
        error that kept its batch from being recorded.  From the committing thread itself
        (a callback of a future it resolved) the payload is recorded at once: waiting
        for the queue there would wait forever."""
        pending = _Pending(workspace, submission, drop_unknown)
        if threading.current_thread() is self._thread:
            self._commit([pending])
            return pending.future
        with self._lock:
            if self._closed:
                raise StoreUnavailable("this Leadkey is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="leadkey-group-commit", daemon=True
                )
                self._thread.start()
            self._queue.put(pending)
        return pending.future

    def close(self) -> None:
        """Record what was submitted, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self._batch_size and not self._queue.empty():
                item = self._queue.get()
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Pending]) -> None:
        groups: dict[tuple[str, bool], list[_Pending]] = {}
        for pending in batch:
            groups.setdefault((pending.workspace, pending.drop_unknown), []).append(pending)
        for (workspace, drop_unknown), items in groups.items():
            live = [p for p in items if p.future.set_running_or_notify_cancel()]
            if not live:
                continue
            try:
                decisions = self._record(workspace, [p.submission for p in live], drop_unknown)
            except Exception as error:  # each caller gets the error of its batch
                for pending in live:
                    pending.future.set_exception(error)
                continue
            for pending, decision in zip(live, decisions, strict=True):
                pending.future.set_result(decision)
