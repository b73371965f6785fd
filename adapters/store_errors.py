"""The store's own errors, raised as leadkey's ``StoreUnavailable``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from eventsourcing.persistence import ConnectionPoolClosedError, PersistenceError

from leadkey.domain.errors import StoreUnavailable


@contextmanager
def store_errors() -> Iterator[None]:
    """The store's own errors, raised as ``StoreUnavailable`` with them as the cause."""
    try:
        yield
    except ConnectionPoolClosedError as error:
        raise StoreUnavailable("this Leadkey is closed") from error
    except PersistenceError as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise StoreUnavailable(reason) from error


def check_open(owner: object) -> None:
    """Raise ``StoreUnavailable`` if ``owner`` (a ``Leadkey``) has been closed."""
    if getattr(owner, "closed", False):
        raise StoreUnavailable("this Leadkey is closed")


_F = TypeVar("_F", bound=Callable[..., Any])


def wrap_store_errors(method: _F) -> _F:
    """``method`` with the store's errors raised as ``StoreUnavailable`` (for a generator,
    while it is iterated), refused once its object is closed."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(*args: Any, **kwargs: Any) -> Any:
            check_open(args[0])
            with store_errors():
                return (yield from method(*args, **kwargs))

        return generator  # type: ignore[return-value]

    @functools.wraps(method)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        check_open(args[0])
        with store_errors():
            return method(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
