"""Matching properties driven through ``Leadkey("memory:")``, and a state machine that
checks every decision against a plain-dictionary model of the rules.

The model (reference sections 1.3, 1.6, 1.7):
- one index ``key -> lead`` for the identifier in force; a payload whose identifier
  value has a key in it updates that lead, otherwise it creates a lead;
- no identifier value, null, empty, unusable -> the payload is dropped;
- an update applies only the supplied fields whose values fit their types; the
  identifier value of a lead never changes;
- switching the identifier re-indexes the leads by their *current* value in the new
  field, in creation order: the earliest lead wins a shared key, the others are
  collisions (never matched, never given a new lead); leads without a usable value
  in the new field are unreachable.
Keys are modelled as tokens (which pool value a spelling stands for); the machine
learns each token's key from the decisions and checks it stays one key per token.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Hashable
from typing import Any
from uuid import UUID

import pytest
from email_validator import validate_email
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from leadkey.adapters.application import Leadkey, UnknownWorkspace
from leadkey.adapters.strategies import (
    UNUSABLE_EMAILS,
    UNUSABLE_PHONES,
    WORKSPACE_FIELDS,
    LabelledPayload,
    LeadPool,
    WorkspaceConfig,
    email_variants,
    emails,
    labelled_payloads,
    lead_pools,
    payload_streams,
    phone_spellings,
    text_ids,
    text_variants,
    valid_phone_numbers,
)
from leadkey.domain.decisions import DropReason, Outcome
from leadkey.domain.lead import lead_id
from leadkey.domain.normalization import UnusableValue, is_blank
from leadkey.domain.workspace import InvalidConfiguration, workspace_id
from leadkey.projections.identifier_index import index_at

WS = "acme"
IDENTIFIERS = ("phone", "email", "customer_id")
KNOWN_FIELDS = {"name", "phone", "email", "customer_id", "rating"}
REGIONS = ("IN", "US", "GB", "DE")


def fresh_app(identifier: str = "phone", country: str = "IN") -> Leadkey:
    app = Leadkey("memory:")
    app.create_workspace(WS, country=country, identifier=identifier, fields=WORKSPACE_FIELDS)
    return app


def assert_live_index_equals_rebuilt(app: Leadkey) -> None:
    """The live index equals a fresh index built from the log alone."""
    live = app._index.projection.view
    rebuilt = index_at(app._log).view
    assert live.names == rebuilt.names
    assert set(live.workspaces) == set(rebuilt.workspaces)
    for ws, mine in live.workspaces.items():
        theirs = rebuilt.workspaces[ws]
        assert mine.config == theirs.config
        assert mine.index == theirs.index
        assert list(mine.versions.items()) == list(theirs.versions.items())
        assert mine.candidates == theirs.candidates


# -- one lead per identifier, whatever the spelling --------------------------------


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_spellings_of_one_number_find_one_lead(data):
    home, e164 = data.draw(valid_phone_numbers())
    country = data.draw(st.sampled_from([home, *REGIONS]))
    spellings = data.draw(st.lists(phone_spellings(country, e164), min_size=2, max_size=6))
    app = fresh_app("phone", country)
    decisions = [app.ingest(WS, {"fields": {"phone": s}}) for s in spellings]
    assert [d.outcome for d in decisions] == [Outcome.CREATED] + [Outcome.UPDATED] * (
        len(spellings) - 1
    )
    assert {d.lead_id for d in decisions} == {decisions[0].lead_id}
    assert {d.key for d in decisions} == {e164}
    for spelling in spellings:
        found = app.lookup(WS, spelling)
        assert found is not None and found.lead_id == decisions[0].lead_id
    assert app.lead(decisions[0].lead_id).fields["phone"] == e164


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_distinct_numbers_get_distinct_leads(data):
    country = data.draw(st.sampled_from(REGIONS))
    numbers = data.draw(
        st.lists(
            valid_phone_numbers(st.sampled_from([country, "IN", "US", "BR", "NG"])),
            min_size=2,
            max_size=5,
            unique_by=lambda pair: pair[1],
        )
    )
    app = fresh_app("phone", country)
    first = [
        app.ingest(WS, {"fields": {"phone": data.draw(phone_spellings(country, e164))}})
        for _, e164 in numbers
    ]
    assert all(d.outcome is Outcome.CREATED for d in first)
    assert len({d.lead_id for d in first}) == len(numbers)
    for (_, e164), created in zip(numbers, first, strict=True):
        again = app.ingest(WS, {"fields": {"phone": data.draw(phone_spellings(country, e164))}})
        assert (again.outcome, again.lead_id, again.key) == (
            Outcome.UPDATED,
            created.lead_id,
            e164,
        )


def assert_one_lead_per_identity(
    app: Leadkey, field: str, groups: list[tuple[str, list[str]]], stored: Any
) -> None:
    """Ingest every spelling of every identity: the first creates a lead that stores
    ``stored(spelling)``, later spellings update it, and distinct identities never share."""
    leads: dict[str, UUID] = {}
    for identity, spellings in groups:
        for spelling in spellings:
            decision = app.ingest(WS, {"fields": {field: spelling}})
            if identity in leads:
                assert (decision.outcome, decision.lead_id) == (Outcome.UPDATED, leads[identity])
            else:
                assert decision.outcome is Outcome.CREATED
                assert decision.lead_id not in leads.values()
                leads[identity] = decision.lead_id
                assert app.lead(decision.lead_id).fields[field] == stored(spelling)
    assert len(set(leads.values())) == len(groups)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_email_variants_find_one_lead_and_distinct_emails_distinct_leads(data):
    addresses = data.draw(st.lists(emails(), min_size=1, max_size=4, unique_by=email_identity))
    groups = [
        (address, data.draw(st.lists(email_variants(address), min_size=1, max_size=3)))
        for address in addresses
    ]
    assert_one_lead_per_identity(fresh_app("email"), "email", groups, trimmed)


def trimmed(spelling: str) -> str:
    """How a lead stores an address: trimmed (zero-width characters too), as first sent."""
    return spelling.strip().strip("\u200b\ufeff").strip()


def email_identity(address: str) -> tuple[str, str]:
    """Caseless identity of an address: folded local part, ASCII domain."""
    checked = validate_email(address, check_deliverability=False)
    return fold(checked.local_part), checked.ascii_domain


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_text_variants_find_one_lead_and_distinct_ids_distinct_leads(data):
    ids = data.draw(st.lists(text_ids(), min_size=1, max_size=4, unique_by=fold))
    groups = [
        (text, data.draw(st.lists(text_variants(text), min_size=1, max_size=3))) for text in ids
    ]
    assert_one_lead_per_identity(fresh_app("customer_id"), "customer_id", groups, str)


def fold(text: str) -> str:
    """The documented caseless form: NFC of the casefolded NFD (Unicode D145)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).casefold())


@settings(max_examples=50, deadline=None)
@given(identifier=st.sampled_from(IDENTIFIERS), data=st.data())
def test_payload_streams_are_decided_and_the_index_rebuilds(identifier, data):
    stream = data.draw(payload_streams(identifier, max_size=12))
    app = fresh_app(identifier)
    decisions = list(app.ingest_many(WS, stream, batch_size=data.draw(st.integers(1, 5))))
    assert len(decisions) == len(stream)
    for decision in decisions:
        if decision.outcome is Outcome.DROPPED:
            assert decision.reason is not None and decision.lead_id is None
        else:
            assert decision.lead_id in app.workspace(WS).versions
    assert_live_index_equals_rebuilt(app)


def test_ingest_records_payloads_with_lone_surrogate_escapes():
    """Valid JSON text may escape a lone surrogate; the payload must still be decided
    and recorded (every decision is recorded before it is returned), not crash ingest."""
    app = fresh_app("phone")
    for text in (
        '{"fields": {"phone": "9999999999", "name": "a\\ud800b"}}',
        '{"fields": {"phone": "\\udc00"}}',
    ):
        before = app._log.recorder.max_notification_id() or 0
        decision = app.ingest(WS, text)
        assert decision.outcome in set(Outcome)
        assert (app._log.recorder.max_notification_id() or 0) > before  # recorded
    assert_live_index_equals_rebuilt(app)


# -- the state machine ----------------------------------------------------------------


class MatchingMachine(RuleBasedStateMachine):
    """Drives one workspace with payloads and identifier switches against a model."""

    @initialize(
        identifier=st.sampled_from(IDENTIFIERS),
        pool=st.tuples(st.sampled_from(REGIONS), st.sampled_from([2, 3])).flatmap(
            lambda args: lead_pools(args[0], max_size=args[1])
        ),
    )
    def start(self, identifier: str, pool: LeadPool) -> None:
        self.app = fresh_app(identifier, pool.region)
        self.ws_id = workspace_id(WS)
        self.pool = pool
        self.config = WorkspaceConfig(identifier, pool.region)
        self.identifier = identifier
        self.generation = 0
        self.fields: dict[UUID, dict[str, Any]] = {}  # lead -> fields; creation order
        self.versions: dict[UUID, int] = {}
        self.candidates: dict[str, dict[UUID, Hashable]] = {f: {} for f in IDENTIFIERS}
        self.index: dict[Hashable, UUID] = {}  # token -> lead, for the identifier in force
        self.keys: dict[Hashable, str] = {}  # token -> key, as learned from decisions
        self.other_leads: dict[int, UUID] = {}  # pool phone -> lead in workspace 'other'

    # -- model helpers --------------------------------------------------------------

    def learn_key(self, token: Hashable, key: str | None) -> None:
        """Check ``key`` is the one key of ``token`` (and no other token's), then note it."""
        field, i = token  # type: ignore[misc]
        assert key is not None, f"no key for {token}"
        if field == "phone":
            assert key == self.pool.phones[i]  # a phone key is the number's E.164
        known = self.keys.get(token)
        if known is None:
            clash = [t for t, k in self.keys.items() if k == key and t[0] == field]  # type: ignore[index]
            assert not clash, f"{token} and {clash} share key {key!r}"
            self.keys[token] = key
        else:
            assert known == key, f"{token} had key {known!r}, now {key!r}"

    def check(self, labelled: LabelledPayload, decision: Any) -> None:
        """Check one decision against the model and apply it to the model."""
        note(f"payload {labelled.body!r} -> {decision.as_dict()!r}")
        event(f"decision: {decision.outcome} {decision.reason or ''}".strip())
        if labelled.malformed:
            assert decision.reason is DropReason.PAYLOAD_MALFORMED
            return self.check_dropped(decision)
        fields = labelled.body["fields"]
        ident = self.identifier
        label = labelled.expected.get(ident)
        if fields.get(ident) is None:
            assert decision.reason is DropReason.IDENTIFIER_MISSING
            return self.check_dropped(decision)
        assert label is not None
        if not label.usable:
            expected = (
                DropReason.IDENTIFIER_EMPTY if label.empty else DropReason.IDENTIFIER_UNUSABLE
            )
            assert decision.reason is expected
            return self.check_dropped(decision)
        if label.token is None:  # a text identifier that is only whitespace
            assert label.empty
            assert decision.reason is DropReason.IDENTIFIER_EMPTY
            return self.check_dropped(decision)

        existing = self.index.get(label.token)
        applied: dict[str, Any] = {}
        rejected: set[str] = set()
        ignored: set[str] = set()
        for name, raw in fields.items():
            if name not in KNOWN_FIELDS or raw is None:
                ignored.add(name)
            elif name == ident and existing is not None:
                continue  # the identifier value never changes
            elif labelled.expected[name].usable:
                applied[name] = labelled.expected[name].stored
            else:
                rejected.add(name)
        if labelled.body.get("actions"):
            ignored.add("actions")  # kept in the recorded payload, not applied
        assert decision.applied == applied
        assert set(decision.rejected) == rejected
        assert set(decision.ignored) == ignored

        self.learn_key(label.token, decision.key)
        for name, value in applied.items():  # the key each applied value gives its field
            token = labelled.expected[name].token
            if token is not None:
                self.learn_key(token, decision.keys.get(name))
            elif name == "name":
                assert bool(decision.keys.get(name)) == (not is_blank(value))
            else:
                assert decision.keys.get(name) is None, name

        if existing is None:
            assert decision.outcome is Outcome.CREATED
            assert decision.lead_id not in self.fields
            assert decision.lead_id == lead_id(self.ws_id, self.generation, decision.key)
            lead = decision.lead_id
            self.fields[lead] = {}
            self.versions[lead] = 0
            self.index[label.token] = lead
        else:
            assert decision.outcome is Outcome.UPDATED
            assert decision.lead_id == existing
            lead = existing
        self.fields[lead].update(applied)
        self.versions[lead] += 1
        for name in set(applied) & set(IDENTIFIERS):
            token = labelled.expected[name].token
            if token is None:  # now without a usable value: no key in this field
                self.candidates[name].pop(lead, None)
            else:
                self.candidates[name][lead] = token
        return None

    def check_leads(self, decisions: list[Any]) -> None:
        """The stored fields of every lead the decisions touched match the model."""
        for lead in {d.lead_id for d in decisions if d.lead_id is not None}:
            stored = self.app.lead(lead)
            assert dict(stored.fields) == self.fields[lead]
            assert stored.version == self.versions[lead]

    def check_dropped(self, decision: Any) -> None:
        assert decision.outcome is Outcome.DROPPED
        assert decision.lead_id is None and decision.key is None
        assert decision.applied == {}

    def draw_payload(self, data: st.DataObject) -> LabelledPayload:
        bias = data.draw(st.sampled_from([self.identifier, self.identifier, *IDENTIFIERS]))
        return data.draw(labelled_payloads(self.config, self.pool, identifier=bias))

    def plan(self, field: str) -> tuple[dict[Hashable, UUID], list[UUID], dict[str, list]]:
        index: dict[Hashable, UUID] = {}
        unreachable: list[UUID] = []
        losers: dict[Hashable, list[UUID]] = {}
        for lead in self.fields:  # creation order
            token = self.candidates[field].get(lead)
            if token is None:
                unreachable.append(lead)
            elif token in index:
                losers.setdefault(token, []).append(lead)
            else:
                index[token] = lead
        collisions = {self.keys[t]: [index[t], *others] for t, others in losers.items()}
        return index, unreachable, collisions

    # -- rules ----------------------------------------------------------------------

    @rule(data=st.data(), as_text=st.booleans())
    def ingest(self, data: st.DataObject, as_text: bool) -> None:
        labelled = self.draw_payload(data)
        payload = json.dumps(labelled.body) if as_text else labelled.body
        decision = self.app.ingest(WS, payload)
        self.check(labelled, decision)
        self.check_leads([decision])

    @rule(data=st.data(), size=st.integers(1, 5), batch_size=st.integers(1, 3))
    def ingest_many(self, data: st.DataObject, size: int, batch_size: int) -> None:
        batch = [self.draw_payload(data) for _ in range(size)]
        decisions = list(self.app.ingest_many(WS, [b.body for b in batch], batch_size=batch_size))
        assert len(decisions) == size
        for labelled, decision in zip(batch, decisions, strict=True):
            self.check(labelled, decision)
        self.check_leads(decisions)

    @rule(field=st.sampled_from([*IDENTIFIERS, "rating", "name_of_nothing"]), dry=st.booleans())
    def change_identifier(self, field: str, dry: bool) -> None:
        if field not in IDENTIFIERS or field == self.identifier:
            with pytest.raises(InvalidConfiguration):
                self.app.change_identifier(WS, field, dry_run=dry)
            return
        report = self.app.change_identifier(WS, field, dry_run=dry)
        index, unreachable, collisions = self.plan(field)
        note(f"switch to {field} (dry={dry}): {report.as_dict()}")
        event(
            f"switch: collisions={bool(report.collisions)} unreachable={bool(report.unreachable)}"
        )
        assert (report.identifier, report.generation) == (field, self.generation + 1)
        assert report.leads == len(self.fields)
        assert report.indexed == len(index)
        assert list(report.unreachable) == unreachable
        assert {c.key: [c.winner, *c.others] for c in report.collisions} == collisions
        if dry:
            assert self.app.workspace(WS).config.identifier == self.identifier
            return
        self.identifier = field
        self.generation += 1
        self.index = index

    @rule(data=st.data())
    def switch_identifier(self, data: st.DataObject) -> None:
        """A switch to another identifier field (more often than change_identifier)."""
        others = [f for f in IDENTIFIERS if f != self.identifier]
        self.change_identifier(data.draw(st.sampled_from(others)), dry=False)

    @rule(data=st.data())
    def lookup(self, data: st.DataObject) -> None:
        field = self.identifier
        if field == "phone":
            i = data.draw(st.integers(0, len(self.pool.phones) - 1))
            value = data.draw(phone_spellings(self.pool.region, self.pool.phones[i]))
        elif field == "email":
            i = data.draw(st.integers(0, len(self.pool.emails) - 1))
            value = data.draw(email_variants(self.pool.emails[i]))
        else:
            i = data.draw(st.integers(0, len(self.pool.texts) - 1))
            value = data.draw(text_variants(self.pool.texts[i]))
        found = self.app.lookup(WS, value)
        expected = self.index.get((field, i))
        if expected is None:
            assert found is None
        else:
            assert found is not None and found.lead_id == expected
            assert found.key == self.keys[(field, i)]
            assert found.fields == self.fields[expected]
            assert found.version == self.versions[expected]

    @rule(data=st.data())
    def lookup_unusable(self, data: st.DataObject) -> None:
        if self.identifier == "phone":
            value: Any = data.draw(st.sampled_from([*UNUSABLE_PHONES, "", 919999999999]))
        elif self.identifier == "email":
            value = data.draw(st.sampled_from([*UNUSABLE_EMAILS, "", None]))
        else:
            value = data.draw(st.sampled_from(["", "  ", 12, None, ["x"]]))
        with pytest.raises(UnusableValue):
            self.app.lookup(WS, value)

    @rule(data=st.data())
    def ingest_into_unknown_workspace(self, data: st.DataObject) -> None:
        labelled = self.draw_payload(data)
        with pytest.raises(UnknownWorkspace):  # refused: nothing recorded
            self.app.ingest("no-such-workspace", labelled.body)
        decision = self.app.ingest("no-such-workspace", labelled.body, drop_unknown=True)
        assert decision.reason is DropReason.UNKNOWN_WORKSPACE
        self.check_dropped(decision)

    @rule(data=st.data())
    def ingest_into_another_workspace(self, data: st.DataObject) -> None:
        """The same identifiers in another workspace get that workspace's own leads."""
        if "other" not in self.app._index.projection.view.names:
            self.app.create_workspace("other", country=self.pool.region, identifier="phone")
        i = data.draw(st.integers(0, len(self.pool.phones) - 1))
        spelling = data.draw(phone_spellings(self.pool.region, self.pool.phones[i]))
        decision = self.app.ingest("other", {"fields": {"phone": spelling}})
        assert decision.lead_id not in self.fields
        if i in self.other_leads:
            assert (decision.outcome, decision.lead_id) == (Outcome.UPDATED, self.other_leads[i])
        else:
            assert decision.outcome is Outcome.CREATED
            assert decision.lead_id not in self.other_leads.values()
            self.other_leads[i] = decision.lead_id

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def live_index_matches_the_model(self) -> None:
        ws = self.app.workspace(WS)
        assert ws.config.identifier == self.identifier
        assert ws.config.generation == self.generation
        assert ws.index == {self.keys[t]: lead for t, lead in self.index.items()}
        assert list(ws.versions.items()) == list(self.versions.items())
        for field in IDENTIFIERS:
            model = {lead: self.keys[t] for lead, t in self.candidates[field].items()}
            assert ws.candidates.get(field, {}) == model, field

    @invariant()
    def live_index_equals_index_rebuilt_from_the_log(self) -> None:
        assert_live_index_equals_rebuilt(self.app)


# Shrinking a 40-step run of this machine takes minutes, so a failing run reports the
# example as found (every step and decision is noted); LEADKEY_SHRINK=1 shrinks it.
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
if os.environ.get("LEADKEY_SHRINK"):
    _PHASES += [Phase.shrink, Phase.explain]
MatchingMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    phases=_PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    report_multiple_bugs=False,
)
test_matching_machine = MatchingMachine.TestCase
