"""Group commit: single payloads submitted from many threads (or tasks), decided and
recorded together.

One committer thread takes whatever has been submitted since its last commit, up to a
batch, and records each workspace's share in one transaction with one step of that
workspace's decision sequence; each submitter's future is resolved with its own decision
once that transaction has committed.  While one batch commits the next one gathers, so
the more callers there are, the larger the batches: no waiting for a batch to fill.
The thread starts with the first submission and stops after a second without any.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from itertools import groupby
from queue import Empty, SimpleQueue

from leadkey.domain.decisions import Decision
from leadkey.domain.errors import StoreUnavailable

from .views import Submission

#: ``record(workspace, submissions, texts, drop_unknown)``: decide and commit, in order;
#: for each payload its decision, or the error that refused it alone.
Record = Callable[[str, Sequence[Submission], Sequence[str], bool], Sequence[Decision | Exception]]
#: Seconds without a submission after which the committer thread stops.
IDLE = 1.0


@dataclass(slots=True)
class _Pending:
    workspace: str
    submission: Submission
    text: str
    drop_unknown: bool
    future: Future[Decision] = field(default_factory=Future)


class GroupCommit:
    """Decides and records submitted payloads in batches of up to ``batch_size``, in one
    thread of its own."""

    def __init__(self, record: Record, batch_size: int = 1000) -> None:
        self._record = record
        self._batch_size = batch_size
        self._queue: SimpleQueue[_Pending | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(
        self, workspace: str, submission: Submission, text: str, drop_unknown: bool
    ) -> Future[Decision]:
        """Queue one payload (``text``: what is recorded for it); its future holds the
        decision once it is committed, or the error that kept its batch from being
        recorded.  From the committing thread itself (a callback of a future it
        resolved) the payload is recorded at once: waiting for the queue there would
        wait forever."""
        pending = _Pending(workspace, submission, text, drop_unknown)
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
        """Record what was submitted, then stop the thread (from the thread itself, a
        callback: it stops once that callback returns)."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        for batch in self._batches():
            self._commit(batch)

    def _batches(self) -> Iterator[list[_Pending]]:
        """What was submitted since the last batch, until closed or idle for ``IDLE``."""
        while True:
            try:
                first = self._queue.get(timeout=IDLE)
            except Empty:
                with self._lock:  # (submissions are queued under the lock)
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch: list[_Pending] = []
            item: _Pending | None = first
            while item is not None:
                batch.append(item)
                if len(batch) == self._batch_size or self._queue.empty():
                    break
                item = self._queue.get()
            if batch:
                yield batch
            if item is None:
                return

    def _commit(self, batch: list[_Pending]) -> None:
        """Record the batch: each workspace's payloads in the order they were submitted,
        together unless ``drop_unknown`` changes between them."""
        try:
            for workspace, items in groupby(
                sorted(batch, key=lambda p: p.workspace), key=lambda p: p.workspace
            ):
                for drop_unknown, run in groupby(items, key=lambda p: p.drop_unknown):
                    self._commit_run(workspace, drop_unknown, list(run))
        except Exception as error:  # a defect: its callers fail, the thread goes on
            failure = StoreUnavailable(f"the batch was not recorded: {error!r}")
            failure.__cause__ = error
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(failure)

    def _commit_run(self, workspace: str, drop_unknown: bool, items: list[_Pending]) -> None:
        live = [p for p in items if p.future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            decisions = self._record(
                workspace, [p.submission for p in live], [p.text for p in live], drop_unknown
            )
        except Exception as error:  # each caller gets the error of its batch
            for pending in live:
                pending.future.set_exception(error)
            return
        for pending, answer in zip(live, decisions, strict=True):
            if isinstance(answer, Exception):
                pending.future.set_exception(answer)
            else:
                pending.future.set_result(answer)
