"""A bounded memo of a pure function's results, which another process can fill ahead."""

from __future__ import annotations

from itertools import islice
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """At most ``size`` results by argument; when full, the oldest quarter is
    forgotten.

    ``get`` and ``put`` are all a caller needs.  With ``journal`` set to a list, every
    result put is appended to it too, so that a process computing ahead of another can
    send its new results (:meth:`prime` puts them in the other process's memo).
    """

    __slots__ = ("_data", "get", "journal", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: dict[K, V] = {}
        self.get = self._data.get
        self.journal: list[tuple[K, V]] | None = None

    def put(self, key: K, value: V) -> None:
        data = self._data
        if len(data) >= self.size:
            data = self._data = dict(islice(data.items(), self.size // 4, None))
            self.get = data.get
        data[key] = value
        if self.journal is not None:
            self.journal.append((key, value))

    def prime(self, entries: list[tuple[Any, Any]]) -> None:
        """Put results computed elsewhere by the same function (not journaled again)."""
        journal, self.journal = self.journal, None
        try:
            for key, value in entries:
                self.put(key, value)
        finally:
            self.journal = journal

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
