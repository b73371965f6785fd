"""A pytest plugin for .ci/mutate.py: every test starts with leadkey's memos empty.

Normalization results are memoized per process, so without it only the first test to
normalize a value runs the code that does it: coverage would credit that test alone,
and a mutant of that code would be tried against too few tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _cold_memos() -> Iterator[None]:
    from leadkey.domain import normalization

    normalization.forget()
    normalization._plan.cache_clear()
    yield
