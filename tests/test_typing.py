"""Types: ``mypy --strict`` passes on the package, and a program that uses ``leadkey`` the
way a service would sees precise types for what it gets back (never ``Any``).

mypy cannot follow the editable install's import hook, so the repository's root is shown
to it as a folder named ``leadkey`` (a symbolic link), as an installed package is.  The
type-checking test is skipped where mypy is not installed (it is in the ``test`` extra).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import os
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from eventsourcing.domain import Aggregate, DomainEvent, decorated_funcs

import leadkey
from leadkey.domain.lead import DroppedPayload, Lead
from leadkey.domain.sequence import DecisionSequence
from leadkey.domain.workspace import Workspace

#: The package as imported (the repository's root here; a copy's package elsewhere).
PACKAGE = Path(leadkey.__file__).resolve().parent
ROOT = Path(__file__).resolve().parent.parent

#: A service's use of the public API.  ``assert_type`` pins what each call returns: a
#: return type that became ``Any`` (or anything else) fails the type check.
USAGE = textwrap.dedent(
    '''
    """How a service embeds leadkey (type-checked by tests/test_typing.py, and run)."""

    from __future__ import annotations

    import asyncio
    from collections.abc import Iterator
    from concurrent.futures import Future
    from datetime import datetime
    from typing import assert_type
    from uuid import UUID

    import leadkey
    from leadkey import (
        Decision,
        DecisionExplained,
        DropReason,
        Leadkey,
        LeadView,
        Lookup,
        Outcome,
        Switch,
        WhatIfReport,
        WorkspaceInfo,
    )

    PHONE = "+91 99999 99999"


    def service(app: Leadkey) -> None:
        info = app.create_workspace("acme", country="IN", fields={"customer_id": "text"})
        assert_type(info, WorkspaceInfo)
        assert_type(info.leads, int)

        decision = app.ingest("acme", {"fields": {"phone": PHONE}}, source={"line": 1})
        assert_type(decision, Decision)
        assert_type(decision.outcome, Outcome)
        assert_type(decision.position, int | None)
        assert_type(decision.recorded_at, datetime | None)
        assert_type(decision.lead_id, UUID | None)
        assert_type(decision.reason, DropReason | None)
        assert decision.outcome is Outcome.CREATED and decision.position is not None

        lead = app.lookup("acme", PHONE)
        assert_type(lead, LeadView | None)
        assert lead is not None and lead.lead_id == decision.lead_id
        assert_type(lead.lead_id, UUID)
        assert_type(lead.version, int)

        found = app.find("acme", PHONE, at=decision.position)
        assert_type(found, Lookup)
        assert_type(found.lead, LeadView | None)

        listed = app.leads("acme")
        assert_type(listed, Iterator[LeadView])
        assert [listed_lead.lead_id for listed_lead in listed] == [lead.lead_id]

        history = app.explain_lead(lead.lead_id)
        assert_type(history, list[DecisionExplained])
        assert_type(history[0].position, int)
        assert_type(history[0].lead_id, UUID | None)
        assert history[0].position == decision.position

        report = app.what_if("acme", Switch(identifier="customer_id"))
        assert_type(report, WhatIfReport)
        assert_type(report.payloads, int)

        token, secret = app.create_token("acme", "async", "web")
        assert_type(token, leadkey.TokenInfo)
        assert_type(secret, str)
        assert_type(app.authenticate("acme", secret, "async").revoked_at, datetime | None)
        assert_type(app.tokens("acme"), list[leadkey.TokenInfo])
        try:
            app.authenticate("acme", secret, "sync")
        except leadkey.NotAuthorized as error:
            assert_type(error, leadkey.NotAuthorized)
        else:
            raise AssertionError("no NotAuthorized")

        future = app.submit("acme", '{"fields": {"phone": "+91 99999 99999"}}')
        assert_type(future, Future[Decision])
        assert_type(future.result(), Decision)

        try:
            app.ingest("nowhere", {"fields": {"phone": PHONE}})
        except leadkey.UnknownWorkspace as error:
            assert_type(error, leadkey.UnknownWorkspace)
        else:
            raise AssertionError("no UnknownWorkspace")
        try:
            app.find("acme", "not a phone")
        except leadkey.UnusableLookup as error:  # (an UnusableValue)
            assert_type(error.config, leadkey.MatchConfig)
        else:
            raise AssertionError("no UnusableLookup")
        try:
            app.what_if("acme", Switch(identifier="nope"))
        except leadkey.LeadkeyError as error:  # (a WhatIfError)
            assert_type(error, leadkey.LeadkeyError)
            assert isinstance(error, leadkey.WhatIfError)
        else:
            raise AssertionError("no WhatIfError")


    async def ingest_async(app: Leadkey) -> Outcome:
        decision = await app.ingest_async("acme", b'{"fields": {"phone": "+91 99999 99999"}}')
        assert_type(decision, Decision)
        return decision.outcome


    def main() -> None:
        assert_type(leadkey.__version__, str)
        with Leadkey("memory:") as app:
            assert_type(app, Leadkey)
            service(app)
            outcome = asyncio.run(ingest_async(app))
            assert outcome is Outcome.UPDATED


    if __name__ == "__main__":
        main()
    '''
)


def test_the_package_and_a_service_using_it_type_check(tmp_path: Path) -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (the test extra has it: pip install -e '.[test]')")
    # mypy reads the package as ``leadkey`` beside the usage program: one run checks both.
    (tmp_path / "leadkey").symlink_to(PACKAGE, target_is_directory=True)
    (tmp_path / "typed_usage.py").write_text(USAGE, encoding="utf-8")
    env = {**os.environ, "MYPYPATH": str(tmp_path)}
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),  # strict, with the package's exclusions
        "--cache-dir",
        str(tmp_path / "mypy-cache"),
        "--no-error-summary",
        "-p",
        "leadkey",
        "-m",
        "typed_usage",
    ]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, f"mypy --strict found errors:\n{run.stdout}{run.stderr}"


def test_the_typed_usage_program_runs(tmp_path: Path) -> None:
    """The program the type check reads is a real use: it runs, and its checks hold."""
    program = tmp_path / "typed_usage.py"
    program.write_text(USAGE, encoding="utf-8")
    runpy.run_path(str(program), run_name="__main__")


@pytest.mark.parametrize(
    "aggregate",
    [Lead, DroppedPayload, Workspace, DecisionSequence],
    ids=lambda a: a.__name__,
)
def test_declared_events_have_the_fields_their_methods_apply(aggregate: type[Aggregate]) -> None:
    """The event classes are declared (for type checkers) and named in ``@event``: each
    one's fields are exactly the parameters of the method that applies it, as when
    eventsourcing derived the class from the method."""
    base = {f.name for f in dataclasses.fields(Aggregate.Created)}
    checked = 0
    for name, event_class in vars(aggregate).items():
        if name in ("Event", "Created") or not isinstance(event_class, type):
            continue
        assert issubclass(event_class, DomainEvent)
        if issubclass(event_class, Aggregate.Created):  # applied by the decorated __init__
            method = vars(aggregate)["__init__"].decorated_func
        else:
            method = decorated_funcs[event_class]
        parameters = list(inspect.signature(method).parameters)[1:]
        fields = [f.name for f in dataclasses.fields(event_class) if f.name not in base]
        assert fields == parameters, name
        checked += 1
    assert checked >= 1
