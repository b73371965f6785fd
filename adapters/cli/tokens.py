"""``token create``, ``token list`` and ``token revoke``: a workspace's API tokens."""

from __future__ import annotations

import click

from leadkey.domain.tokens import KINDS, MAX_ACTIVE, TokenInfo

from .base import echo_json, json_option, main, open_app, store_option, workspace_option


@main.group("token")
def token_group() -> None:
    """Create, list and revoke a workspace's API tokens (for leadkey serve)."""


@token_group.command("create")
@workspace_option
@store_option
@click.option(
    "--type",
    "kind",
    type=click.Choice(KINDS),
    required=True,
    help="async: sends payloads (POST .../autoupdatelead); sync: reads receipts.",
)
@click.option("--name", required=True, metavar="NAME", help="A name for the token.")
@json_option
@click.pass_context
def token_create(ctx: click.Context, workspace: str, kind: str, name: str, as_json: bool) -> None:
    """Create a token and print it, this once: only its digest is kept.

    A workspace has at most 3 active tokens of each type."""
    info, secret = open_app(ctx).create_token(workspace, kind, name)
    if as_json:
        echo_json({**info.as_dict(), "token": secret})
    else:
        click.echo(secret)
    click.echo(
        f"Created {kind} token {name!r} ({info.token_id}) in workspace {workspace!r}. "
        "Copy it now: it cannot be shown again.",
        err=True,
    )


@token_group.command("list")
@workspace_option
@store_option
@json_option
@click.pass_context
def token_list(ctx: click.Context, workspace: str, as_json: bool) -> None:
    """List the workspace's tokens, revoked ones too (never the tokens themselves)."""
    tokens = open_app(ctx, read_only=True).tokens(workspace)
    if as_json:
        echo_json([token.as_dict() for token in tokens])
        return
    if not tokens:
        click.echo(f"Workspace {workspace!r} has no tokens (leadkey token create makes one).")
        return
    for token in tokens:
        click.echo(_line(token))
    for kind in KINDS:
        active = sum(1 for t in tokens if t.active and t.kind == kind)
        click.echo(f"{kind}: {active} of {MAX_ACTIVE} active")


def _line(token: TokenInfo) -> str:
    created = token.created_at.strftime("%Y-%m-%d %H:%M:%S")
    status = (
        "active"
        if token.revoked_at is None
        else f"revoked {token.revoked_at.strftime('%Y-%m-%d %H:%M:%S')}"
    )
    return f"{token.token_id}  {token.kind:<5}  {token.name!r}  created {created}  {status}"


@token_group.command("revoke")
@click.argument("token")
@workspace_option
@store_option
@click.pass_context
def token_revoke(ctx: click.Context, token: str, workspace: str) -> None:
    """Revoke the token with the id or active name TOKEN: from the next request on it
    authorizes nothing."""
    info = open_app(ctx).revoke_token(workspace, token)
    click.echo(f"Revoked {info.kind} token {info.name!r} ({info.token_id}).")
