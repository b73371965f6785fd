"""API tokens: the aggregate's rules, the service methods, the CLI, races for the last
slot, and properties of any sequence of creations and revocations."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from uuid import uuid4

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkey import (
    InvalidConfiguration,
    Leadkey,
    NotAuthorized,
    StoreUnavailable,
    TokenInfo,
    UnknownWorkspace,
)
from leadkey.adapters.cli import main
from leadkey.adapters.tokens import authorized
from leadkey.domain.tokens import MAX_ACTIVE, WorkspaceTokens, token_digest
from leadkey.projections.identifier_index import read_log


@pytest.fixture
def acme(app: Leadkey) -> Leadkey:
    app.create_workspace("acme")
    return app


def test_a_token_is_returned_once_and_only_its_digest_is_recorded(acme: Leadkey) -> None:
    info, secret = acme.create_token("acme", "async", "web")
    assert isinstance(info, TokenInfo) and info.active and info.kind == "async"
    assert secret.startswith("lk_async_") and len(secret) >= 40
    assert acme.tokens("acme") == [info]
    assert acme.authenticate("acme", secret, "async") == info
    recorded = b"".join(
        n.state for n in acme._log.recorder.select_notifications(start=1, limit=1000)
    )
    assert secret.encode() not in recorded
    assert token_digest(secret).encode() in recorded
    assert secret not in repr(info) and token_digest(secret) not in json.dumps(info.as_dict())


def test_two_tokens_are_never_the_same(acme: Leadkey) -> None:
    secrets = {
        acme.create_token("acme", kind, f"t{kind}{n}")[1]
        for kind in ("async", "sync")
        for n in range(3)
    }
    assert len(secrets) == 6


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_a_fourth_active_token_of_a_kind_is_refused(acme: Leadkey, kind: str) -> None:
    for n in range(MAX_ACTIVE):
        acme.create_token("acme", kind, f"t{n}")
    with pytest.raises(InvalidConfiguration, match=f"at most 3 active {kind} tokens"):
        acme.create_token("acme", kind, "t4")
    other = "sync" if kind == "async" else "async"
    acme.create_token("acme", other, "of the other kind")  # 3 of each
    acme.revoke_token("acme", "t1")
    acme.create_token("acme", kind, "t4")  # a revoked one frees its slot
    assert len([t for t in acme.tokens("acme") if t.active and t.kind == kind]) == MAX_ACTIVE


def test_names_are_unique_among_active_tokens(acme: Leadkey) -> None:
    acme.create_token("acme", "async", "web")
    with pytest.raises(InvalidConfiguration, match="already called 'web'"):
        acme.create_token("acme", "sync", "web")
    acme.revoke_token("acme", "web")
    acme.create_token("acme", "sync", "web")  # the name is free again
    assert [t.name for t in acme.tokens("acme")] == ["web", "web"]


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("both", "x"),
        ("ASYNC", "x"),
        ("async", ""),
        ("async", "   "),
        ("async", "a\nb"),
        ("async", "x" * 65),
        ("async", str(uuid4())),
    ],
)
def test_bad_kinds_and_names_are_refused_and_nothing_is_recorded(
    acme: Leadkey, kind: str, name: str
) -> None:
    end = acme._log.recorder.max_notification_id()
    with pytest.raises(InvalidConfiguration):
        acme.create_token("acme", kind, name)
    assert acme._log.recorder.max_notification_id() == end


def test_revoke_by_id_or_name(acme: Leadkey) -> None:
    a, secret_a = acme.create_token("acme", "async", "a")
    b, secret_b = acme.create_token("acme", "async", "b")
    revoked = acme.revoke_token("acme", str(a.token_id))
    assert revoked.token_id == a.token_id and revoked.revoked_at is not None
    assert acme.revoke_token("acme", "b").token_id == b.token_id
    for secret in (secret_a, secret_b):
        with pytest.raises(NotAuthorized, match="revoked"):
            acme.authenticate("acme", secret, "async")
    with pytest.raises(InvalidConfiguration, match="is revoked"):
        acme.revoke_token("acme", str(a.token_id))
    with pytest.raises(InvalidConfiguration, match="no token"):
        acme.revoke_token("acme", "b")  # (by name: only active tokens have names)
    with pytest.raises(InvalidConfiguration, match="no token"):
        acme.revoke_token("acme", str(uuid4()))


def test_authenticate_refuses_everything_but_an_active_token_of_the_kind(acme: Leadkey) -> None:
    acme.create_workspace("other")
    _, mine = acme.create_token("acme", "async", "web")
    _, theirs = acme.create_token("other", "async", "web")
    _, sync = acme.create_token("acme", "sync", "reader")
    refused = [
        ("acme", "", "async"),
        ("acme", "lk_async_x", "async"),
        ("acme", theirs, "async"),
        ("other", mine, "async"),
        ("nowhere", mine, "async"),
        ("\ud800", mine, "async"),
        ("acme", mine, "sync"),
        ("acme", sync, "async"),
        ("acme", mine + " ", "async"),
    ]
    for workspace, secret, kind in refused:
        with pytest.raises(NotAuthorized):
            acme.authenticate(workspace, secret, kind)
    assert acme.authenticate("acme", sync, "sync").name == "reader"


def test_tokens_of_an_unknown_workspace(app: Leadkey) -> None:
    for call in (
        lambda: app.create_token("nowhere", "async", "x"),
        lambda: app.tokens("nowhere"),
        lambda: app.revoke_token("nowhere", "x"),
    ):
        with pytest.raises(UnknownWorkspace):
            call()


def test_a_closed_leadkey_refuses_token_methods(acme: Leadkey) -> None:
    _, secret = acme.create_token("acme", "async", "web")
    acme.close()
    with pytest.raises(StoreUnavailable):
        acme.authenticate("acme", secret, "async")


def test_token_events_leave_decisions_replay_and_what_if_alone(acme: Leadkey) -> None:
    acme.create_token("acme", "async", "web")
    decision = acme.ingest("acme", {"fields": {"phone": "9999999999", "email": "a@b.co"}})
    acme.create_token("acme", "sync", "reader")
    acme.revoke_token("acme", "web")
    acme.ingest("acme", {"fields": {"phone": "09999999999"}})
    assert acme.replay("acme").verified
    assert acme.what_if("acme", []).changes == ()
    token_events = [p for e, p in read_log(acme._log) if isinstance(e, WorkspaceTokens.Event)]
    assert len(token_events) == 4  # started, two created, one revoked
    for position in token_events:
        assert acme.explain_position(position) is None
        assert acme.explain_decision("acme", position) is None
    assert acme.explain_decision("acme", decision.position) is not None
    assert acme.workspace_info("acme").leads == 1
    assert [c.kind for c in acme.configuration_history("acme")] == ["created"]


def test_the_stored_index_stays_at_the_end_of_the_log(durable_url: str) -> None:
    with Leadkey(durable_url) as app:
        app.create_workspace("acme")
        app.create_token("acme", "async", "web")
        app.revoke_token("acme", "web")
        status = app.stored_index_status()
        assert status is not None and status["problem"] is None
        assert status["position"] == status["log"]
        assert app.stored_index_differences("acme") == (status["position"], [])


def test_a_change_by_another_process_counts_from_the_next_call(durable_url: str) -> None:
    with Leadkey(durable_url) as server, Leadkey(durable_url) as admin:
        admin.create_workspace("acme")
        _, old = admin.create_token("acme", "async", "old")
        assert server.authenticate("acme", old, "async").name == "old"  # (now known)
        _, new = admin.create_token("acme", "async", "new")
        admin.revoke_token("acme", "old")
        with pytest.raises(NotAuthorized, match="revoked"):
            server.authenticate("acme", old, "async")
        assert server.authenticate("acme", new, "async").name == "new"
        assert [t.name for t in server.tokens("acme")] == ["old", "new"]


def test_threads_checking_tokens_all_see_a_revocation_made_before_they_call(
    durable_url: str,
) -> None:
    with Leadkey(durable_url) as server, Leadkey(durable_url) as admin:
        admin.create_workspace("acme")
        _, secret = admin.create_token("acme", "sync", "reader")
        server.authenticate("acme", secret, "sync")
        admin.revoke_token("acme", "reader")
        refused: list[bool] = []

        def check() -> None:
            try:
                server.authenticate("acme", secret, "sync")
                refused.append(False)
            except NotAuthorized:
                refused.append(True)

        threads = [threading.Thread(target=check) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert refused == [True] * 16


def test_writers_racing_for_the_last_slots_get_exactly_three(durable_url: str) -> None:
    with Leadkey(durable_url) as setup:
        setup.create_workspace("acme")
    writers = [Leadkey(durable_url) for _ in range(6)]
    start = threading.Barrier(len(writers))
    outcomes: list[str] = []

    def create(app: Leadkey, n: int) -> None:
        start.wait()
        try:
            app.create_token("acme", "async", f"t{n}")
            outcomes.append("created")
        except InvalidConfiguration:
            outcomes.append("refused")

    threads = [threading.Thread(target=create, args=(w, n)) for n, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for writer in writers:
        writer.close()
    assert sorted(outcomes) == ["created"] * 3 + ["refused"] * 3
    with Leadkey(durable_url, read_only=True) as app:
        assert len([t for t in app.tokens("acme") if t.active]) == MAX_ACTIVE


# -- properties -----------------------------------------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.sampled_from(["async", "sync"]), st.sampled_from("abcde")),
        st.tuples(st.just("revoke"), st.integers(0, 10)),
    ),
    max_size=25,
)


@given(operations)
@settings(max_examples=150, deadline=None)
def test_any_sequence_of_creations_and_revocations_keeps_the_rules(ops: list[tuple]) -> None:
    tokens = WorkspaceTokens(workspace_id=uuid4())
    secrets: dict[object, str] = {}
    for n, op in enumerate(ops):
        if op[0] == "create":
            _, kind, name = op
            secret = f"lk_{kind}_{n}"
            active = tokens.active()
            allowed = len(tokens.active(kind)) < MAX_ACTIVE and name not in {t.name for t in active}
            try:
                info = tokens.create_token(uuid4(), name, kind, token_digest(secret))
            except InvalidConfiguration:
                assert not allowed
            else:
                assert allowed
                secrets[info.token_id] = secret
        elif tokens.tokens:
            target = list(tokens.tokens.values())[op[1] % len(tokens.tokens)]
            if target.active:
                tokens.revoke(str(target.token_id))
        for kind in ("async", "sync"):
            assert len(tokens.active(kind)) <= MAX_ACTIVE
        names = [t.name for t in tokens.active()]
        assert len(names) == len(set(names))
    # each token authenticates exactly when active, and only for its own kind
    for token in tokens.tokens.values():
        secret = secrets[token.token_id]
        for kind in ("async", "sync"):
            if token.active and token.kind == kind:
                assert authorized(tokens, secret, kind) == token
            else:
                with pytest.raises(NotAuthorized):
                    authorized(tokens, secret, kind)
    # replaying the recorded events gives the same tokens
    events = tokens.collect_events()
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert isinstance(rebuilt, WorkspaceTokens) and rebuilt.tokens == tokens.tokens


@given(st.text(max_size=80))
@settings(max_examples=100, deadline=None)
def test_no_made_up_secret_authenticates(secret: str) -> None:
    tokens = WorkspaceTokens(workspace_id=uuid4())
    tokens.create_token(uuid4(), "web", "async", token_digest("lk_async_" + "x" * 43))
    with pytest.raises(NotAuthorized):
        authorized(tokens, secret, "async")


# -- the CLI --------------------------------------------------------------------------------


def run(store: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--store", store, *args], env={"LEADKEY_STORE": None})


def test_cli_create_list_revoke(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'x.db'}"
    assert run(store, "workspace", "create", "acme").exit_code == 0
    created = run(
        store, "token", "create", "--workspace", "acme", "--type", "async", "--name", "web"
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("lk_async_") and "\n" not in secret
    assert "cannot be shown again" in created.stderr
    as_json = run(store, "token", "create", "-w", "acme", "--type", "sync", "--name", "r", "--json")
    data = json.loads(as_json.stdout)
    assert data["kind"] == "sync" and data["token"].startswith("lk_sync_")
    listed = run(store, "token", "list", "-w", "acme")
    assert "'web'" in listed.stdout and "active" in listed.stdout and secret not in listed.stdout
    assert "async: 1 of 3 active" in listed.stdout
    rows = json.loads(run(store, "token", "list", "-w", "acme", "--json").stdout)
    assert [(r["name"], r["kind"], r["revoked_at"]) for r in rows] == [
        ("web", "async", None),
        ("r", "sync", None),
    ]
    revoked = run(store, "token", "revoke", "web", "-w", "acme")
    assert revoked.exit_code == 0 and "Revoked async token 'web'" in revoked.stdout
    again = run(store, "token", "revoke", rows[0]["token_id"], "-w", "acme")
    assert again.exit_code == 2 and again.stderr.startswith("error: ") and "revoked" in again.stderr
    for n in range(3):
        run(store, "token", "create", "-w", "acme", "--type", "sync", "--name", f"s{n}")
    fourth = run(store, "token", "create", "-w", "acme", "--type", "sync", "--name", "s4")
    assert fourth.exit_code == 2 and "at most 3 active sync tokens" in fourth.stderr
    with Leadkey(store) as app:
        assert app.authenticate("acme", data["token"], "sync").name == "r"
    missing = run(store, "token", "list", "-w", "nowhere")
    assert missing.exit_code == 2 and "unknown workspace" in missing.stderr
