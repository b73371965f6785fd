"""Events as JSON, written and read by orjson: eventsourcing's ``JSONTranscoder`` format.

Encoding and decoding an event's JSON with the standard library was a tenth of an
ingest and more of a replay.  :class:`OrjsonTranscoder` writes the same JSON (compact,
UTF-8, transcoded values as ``{"_type_": …, "_data_": …}``) and reads it back to the same
values, so stores written before it and after it read alike, with either.  Where
orjson would not give the standard library's result, the standard library does it.
"""

from __future__ import annotations

from functools import lru_cache
from math import isfinite
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder, UUIDAsHex

_TYPE_TAG = b'"_type_"'
#: Digits as "0", all else as " ": a run of 20 marks what may be an integer past 64 bits.
_DIGITS = bytes(b"0"[0] if chr(byte).isdigit() and byte < 128 else b" "[0] for byte in range(256))
_LONG_DIGITS = b"0" * 20
#: What orjson would write its own way goes to ``default``, which hands it back.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class OrjsonTranscoder(JSONTranscoder):
    """:class:`~eventsourcing.persistence.JSONTranscoder`, with orjson doing the work.

    The values it transcodes (UUIDs, datetimes: see ``register``) are an event's own
    attributes, never inside its dicts and lists: those hold JSON values (finite
    numbers: orjson writes a NaN as null).  Anything else (an integer past 64 bits, a
    key that is not a string, a datetime or Decimal inside a dict, a NaN attribute) is
    left to the standard library, whose result orjson would not give.
    """

    def encode(self, obj: Any) -> bytes:
        if type(obj) is dict:
            kinds = set(map(type, obj.values()))
            if float in kinds and not all(isfinite(v) for v in obj.values() if type(v) is float):
                return super().encode(obj)  # (orjson would write NaN as null)
            types = self.types
            if not kinds.isdisjoint(types):
                obj = {
                    name: self._encode_obj(value) if type(value) in types else value
                    for name, value in obj.items()
                }
        try:
            # (a datetime or UUID left inside would be written as orjson's string:
            # the standard library writes it transcoded)
            return orjson.dumps(obj, default=_refuse, option=_OPTIONS)
        except (TypeError, orjson.JSONEncodeError):
            return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        if _LONG_DIGITS in data.translate(_DIGITS):  # orjson reads an integer past 64 bits
            return super().decode(data)  # as a float (and a long run of digits may be one)
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:  # e.g. NaN
            return super().decode(data)
        tags = data.count(_TYPE_TAG)
        if not tags:
            return obj
        if type(obj) is dict:
            decoded = 0
            names = self.names
            for name, value in obj.items():
                if type(value) is dict and len(value) == 2 and "_type_" in value:
                    transcoding = names.get(value["_type_"])
                    if transcoding is None or "_data_" not in value:
                        return super().decode(data)  # (it says why, or keeps the dict)
                    obj[name] = transcoding.decode(value["_data_"])
                    decoded += 1
                    if decoded == tags:  # (every tag: none is deeper down)
                        return obj
        return super().decode(data)  # a tag deeper down: decoded as the standard library does


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


class SharedUUIDAsHex(UUIDAsHex):
    """eventsourcing's ``uuid_hex`` transcoding, reading each of the most recent UUIDs
    once: a log repeats a few (every decision names its workspace), and a UUID is
    immutable, so one object serves each of its readings."""

    def decode(self, data: str) -> UUID:
        return _uuid(data)


@lru_cache(maxsize=1024)
def _uuid(data: str) -> UUID:
    assert isinstance(data, str)
    return UUID(data)
