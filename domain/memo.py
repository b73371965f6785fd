"""A bounded memo of a pure function's results."""

from __future__ import annotations

from itertools import islice
from threading import Lock
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """At most ``size`` results by argument; when full, the oldest quarter is
    forgotten.  ``get`` and ``put`` are all a caller needs.
    """

    __slots__ = ("_data", "_lock", "get", "size")

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._data: dict[K, V] = {}
        self._lock = Lock()
        self.get = self._data.get

    def put(self, key: K, value: V) -> None:
        with self._lock:
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
