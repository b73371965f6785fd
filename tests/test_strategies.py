"""The strategies keep their promises: spellings key to their number, a workspace created
from a config takes its payloads, switches apply in order, and a failing stream shrinks
to plain payloads."""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from leadkey import Leadkey
from leadkey.adapters.strategies import (
    WORKSPACE_FIELDS,
    LeadPool,
    NumberWithSpellings,
    WorkspaceConfig,
    identifier_switches,
    labelled_payload_streams,
    labelled_payloads,
    payload_streams,
    phone_numbers_with_spellings,
    phone_spellings,
    valid_phone_numbers,
    workspace_configs,
)
from leadkey.domain.decisions import DropReason, Outcome
from leadkey.domain.normalization import phone_key

WS = "acme"


def create(app: Leadkey, config: WorkspaceConfig) -> None:
    app.create_workspace(
        WS, country=config.country, identifier=config.identifier, fields=config.fields
    )


# -- phones ------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(phone_numbers_with_spellings(n=4))
def test_a_number_with_spellings_has_n_distinct_spellings_of_its_key(
    number: NumberWithSpellings,
) -> None:
    assert len(set(number.spellings)) == 4
    assert {phone_key(s, number.region) for s in number.spellings} == {number.e164}


@settings(max_examples=30, deadline=None)
@given(phone_numbers_with_spellings(n=2, regions=["BR", "US"]), valid_phone_numbers("IN"))
def test_regions_may_be_a_list_or_one_code(
    number: NumberWithSpellings, indian: tuple[str, str]
) -> None:
    assert number.region in ("BR", "US")
    assert indian[1].startswith("+91")


def test_arguments_in_another_order_or_unknown_regions_are_refused() -> None:
    with pytest.raises(ValueError, match="region '\\+919999999999'"):
        phone_spellings("+919999999999", "IN")  # (e164, region): the old order
    with pytest.raises(ValueError, match="e164 '9999999999'"):
        phone_spellings("IN", "9999999999")
    with pytest.raises(ValueError, match="PHONE_REGIONS"):
        valid_phone_numbers(["IN", "XX"])
    with pytest.raises(ValueError):
        phone_numbers_with_spellings(0)
    with pytest.raises(ValueError, match="identifier 'name'"):
        WorkspaceConfig(identifier="name")
    pool = LeadPool("US", ("+12015550123",), ("a@example.com",), ("x",))
    with pytest.raises(ValueError, match="not the config's country"):
        labelled_payloads("phone", pool)  # the default config's country is IN


# -- workspace configurations, their payloads and switches ---------------------------


def ignorable(fields: dict[str, Any], config: WorkspaceConfig) -> set[str]:
    """Fields a workspace from ``config`` may ignore: not its own, or null."""
    return {n for n, v in fields.items() if n not in config.all_fields or v is None}


@settings(max_examples=60, deadline=None)
@given(config=workspace_configs(), data=st.data())
def test_a_workspace_created_from_a_config_takes_its_payloads_as_labelled(
    config: WorkspaceConfig, data: st.DataObject
) -> None:
    _, stream = data.draw(labelled_payload_streams(config, max_size=12))
    app = Leadkey("memory:")
    create(app, config)
    keys: dict[Hashable, str] = {}
    decisions = app.ingest_many(WS, [labelled.body for labelled in stream], batch_size=4)
    for labelled, decision in zip(stream, decisions, strict=True):
        if labelled.malformed:
            assert decision.reason is DropReason.PAYLOAD_MALFORMED
            continue
        fields = labelled.body["fields"]
        assert set(decision.ignored) - {"actions"} <= ignorable(fields, config)
        refused = {name for name, label in labelled.expected.items() if not label.usable}
        assert set(decision.rejected) <= refused
        label = labelled.expected.get(config.identifier)
        if label is not None and label.usable and label.token is not None:
            assert decision.outcome is not Outcome.DROPPED
            assert keys.setdefault(label.token, decision.key) == decision.key
    assert len(set(keys.values())) == len(keys)  # distinct pool values, distinct keys


@settings(max_examples=40, deadline=None)
@given(config=workspace_configs(), data=st.data())
def test_identifier_switches_apply_in_order(config: WorkspaceConfig, data: st.DataObject) -> None:
    changes = data.draw(identifier_switches(config, max_size=4))
    app = Leadkey("memory:")
    create(app, config)
    list(app.ingest_many(WS, data.draw(payload_streams(config, max_size=5))))
    expected = config
    for change in changes:
        assert (change.identifier is None) != (change.country is None)
        report = change.apply(app, WS)
        expected = change.applied_to(expected)
        in_force = app.workspace(WS).config
        assert (in_force.identifier, in_force.country) == (expected.identifier, expected.country)
        assert report.identifier == expected.identifier


def test_a_bare_identifier_stands_for_the_default_config() -> None:
    config = WorkspaceConfig(identifier="email")
    assert (config.country, dict(config.fields)) == ("IN", WORKSPACE_FIELDS)
    assert config == WorkspaceConfig("email", "IN", dict(WORKSPACE_FIELDS))
    assert config.identifier_fields == ("phone", "email", "customer_id")


# -- shrinking ---------------------------------------------------------------------


def test_a_failing_stream_shrinks_to_two_plain_payloads() -> None:
    """Two payloads for one lead: the stream shrinks to two bare E.164 numbers (a plan
    draws 0 for "plain", and what it draws does not depend on the pool)."""

    def two_for_one_lead(stream: list[Any]) -> bool:
        app = Leadkey("memory:")
        app.create_workspace(WS, fields=WORKSPACE_FIELDS)
        leads = [d.lead_id for d in app.ingest_many(WS, stream) if d.lead_id is not None]
        app.close()
        return len(leads) > len(set(leads))

    quick = settings(
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],  # not explain: it varies the whole stream
    )
    found = find(payload_streams("phone"), two_for_one_lead, settings=quick)
    first, second = found
    assert first == second == {"fields": {"phone": first["fields"]["phone"]}}
    assert re.fullmatch(r"\+91\d{10}", first["fields"]["phone"])
