"""Worker processes that prepare payload batches (parse + normalize) ahead of matching.

Each worker has at most one request in flight, sent and received by the calling
thread itself: no helper threads compete with the matching loop for the GIL, and
neither side can block the other on a full pipe.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import suppress
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any

from leadkey.domain.decisions import Decision, MatchConfig, Outcome, Prepared, prepare

from .processes import start_worker, stop_worker

#: A prepared batch as it travels between processes: the configuration it was prepared
#: under, and one plain tuple per payload.
Wire = tuple[MatchConfig | None, list[tuple[Any, ...]]]


def prepare_batch(config: MatchConfig | None, texts: list[str]) -> Wire:
    """Prepare ``texts`` under ``config``, as plain tuples (cheap to send)."""
    wire = []
    for text in texts:
        p = prepare(config, text)
        dropped = p.dropped
        drop = (dropped.reason, dropped.message) if dropped is not None else None
        wire.append((drop, p.key, p.applied, p.keys, p.rejected, p.ignored))
    return config, wire


def from_wire(config: MatchConfig | None, text: str, item: tuple[Any, ...]) -> Prepared:
    """The :class:`Prepared` payload that one tuple of :func:`prepare_batch` stands for."""
    drop, key, applied, keys, rejected, ignored = item
    if drop is not None:
        reason, message = drop
        dropped = Decision(Outcome.DROPPED, text, reason=reason, message=message, config=config)
        return Prepared(text, config, dropped)
    return Prepared(text, config, None, key, applied, keys, rejected, ignored)


def _serve(connection: Connection) -> None:
    with suppress(EOFError, OSError):  # the calling process is gone
        while (request := connection.recv()) is not None:
            connection.send(prepare_batch(*request))


class Preparers:
    """``count`` worker processes; use as a context manager."""

    def __init__(self, count: int) -> None:
        self._connections: list[Connection] = []
        self._processes = []
        for _ in range(count):
            mine, theirs = Pipe()
            process = start_worker(_serve, theirs)
            theirs.close()
            self._connections.append(mine)
            self._processes.append(process)

    def __enter__(self) -> Preparers:
        return self

    def __exit__(self, *_: object) -> None:
        for connection in self._connections:
            with suppress(OSError):
                connection.send(None)
            connection.close()
        for process in self._processes:
            stop_worker(process, timeout=5)

    def pipeline(
        self, batches: Iterator[tuple[Any, list[str]]], config: Any
    ) -> Iterator[tuple[Any, list[str], Wire | None]]:
        """Yield ``(batch, texts, prepared)`` for every batch, in order; ``config()`` gives
        the configuration to prepare under when a batch is sent.  ``prepared`` is None
        when the caller must prepare the batch itself: once any worker fails, no more
        batches are sent to workers."""
        broken = False
        in_flight: list[tuple[Any, list[str], Connection]] = []
        for connection in self._connections:
            if (batch := next(batches, None)) is None:
                break
            connection.send((config(), batch[1]))
            in_flight.append((batch[0], batch[1], connection))
        while in_flight:
            items, texts, connection = in_flight.pop(0)
            try:
                prepared: Wire | None = connection.recv()
            except (EOFError, OSError):
                prepared, broken = None, True
            if not broken and (batch := next(batches, None)) is not None:
                try:
                    connection.send((config(), batch[1]))
                except OSError:
                    broken = True
                    batches = itertools.chain([batch], batches)
                else:
                    in_flight.append((batch[0], batch[1], connection))
            yield items, texts, prepared
        for items, texts in batches:  # left over after a worker failed
            yield items, texts, None
