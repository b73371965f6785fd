"""A bounded memo of a pure function's results, which another process can fill ahead."""

from __future__ import annotations

from itertools import islice
from threading import Lock
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

    __slots__ = ("_data", "_lock", "get", "journal", "size")

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._data: dict[K, V] = {}
        self._lock = Lock()
        self.get = self._data.get
        self.journal: list[tuple[K, V]] | None = None

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._put(key, value)
            if self.journal is not None:
                self.journal.append((key, value))

    def prime(self, entries: list[tuple[Any, Any]]) -> None:
        """Put results computed elsewhere by the same function (not journaled again)."""
        with self._lock:
            for key, value in entries:
                self._put(key, value)

    def _put(self, key: K, value: V) -> None:
        data = self._data
        if len(data) >= self.size:
            oldest = max(1, self.size // 4)
            data = self._data = dict(islice(data.items(), oldest, None))
            self.get = data.get
        data[key] = value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
