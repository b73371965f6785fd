"""Prepared payload batches as plain tuples, cheap to send between processes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .decisions import Decision, MatchConfig, Outcome, Prepared, prepare

#: A prepared batch as it travels between processes: the configuration it was prepared
#: under, and one plain tuple per payload.
Wire = tuple[MatchConfig | None, list[tuple[Any, ...]]]


def prepare_batch(config: MatchConfig | None, texts: Sequence[str]) -> Wire:
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


def prepared_under(
    config: MatchConfig | None, texts: Sequence[str], wire: Wire | None
) -> list[Prepared]:
    """``texts`` prepared under ``config``: taken from ``wire`` if it was prepared under
    that configuration, else prepared here."""
    if wire is not None and wire[0] == config:
        return [from_wire(config, text, item) for text, item in zip(texts, wire[1], strict=True)]
    return [prepare(config, text) for text in texts]
