"""``identifier set`` and ``country set``: a change of the identifier or the default
country, and the rebuild it gives."""

from __future__ import annotations

from dataclasses import replace

import click

from leadkey.domain.workspace import check_country
from leadkey.projections.identifier_index import RebuildReport
from leadkey.projections.what_if import (
    Switch,
)

from ..application import (
    Leadkey,
)
from .base import (
    POSITION,
    CliError,
    collision_line,
    dry_run_option,
    echo_capped,
    echo_json,
    ensure_workspace,
    json_option,
    listed,
    main,
    open_app,
    store_option,
    workspace_option,
)
from .what_if import echo_what_if, run_what_if


def _echo_report(report: RebuildReport, dry_run: bool, change: str) -> None:
    if dry_run:
        click.echo(f"Dry run, nothing recorded. {change} would give:")
    else:
        click.echo(f"Recorded. {change} gives:")
    click.echo(f"  workspace    {report.workspace}")
    click.echo(f"  identifier   {report.identifier} ({report.identifier_type})")
    click.echo(f"  generation   {report.generation}")
    click.echo(f"  leads        {report.leads}")
    click.echo(f"  indexed      {report.indexed}")
    click.echo(f"  unreachable  {len(report.unreachable)}")
    if report.unreachable:
        click.echo(
            f"    no usable {report.identifier} value, so no payload can match them: "
            f"{listed(report.unreachable)}"
        )
    shadowed = f" ({report.shadowed} lead(s) not matched)" if report.collisions else ""
    click.echo(f"  collisions   {len(report.collisions)}{shadowed}")
    echo_capped(report.collisions, collision_line, "    ")


def _reconfigure(
    ctx: click.Context,
    workspace: str,
    setting: Switch,
    dry_run: bool,
    as_json: bool,
    what_if_from: int | None,
) -> None:
    """Change (or with ``dry_run`` plan) the identifier or country ``setting`` names, and
    report the rebuild; with ``what_if_from``, also the what-if of the change from then."""
    if what_if_from is not None and not dry_run:
        raise CliError("--what-if-from needs --dry-run (a what-if records nothing)")
    app = open_app(ctx, read_only=dry_run)
    created = not dry_run and ensure_workspace(app, workspace, **_settings(setting))
    change = _change_text(setting)
    if created:  # with the setting: its index is built by it already
        report = app.workspace(workspace).report
    else:
        report = _change(app, workspace, setting, dry_run)
    hypothetical = (
        None
        if what_if_from is None
        else run_what_if(app, workspace, replace(setting, position=what_if_from))
    )
    if as_json:
        rebuild = {**report.as_dict(), "dry_run": dry_run}
        echo_json(
            rebuild
            if hypothetical is None
            else {"rebuild": rebuild, "what_if": hypothetical.as_dict()}
        )
        return
    _echo_report(report, dry_run, change)
    if hypothetical is not None:
        click.echo()
        echo_what_if(hypothetical)


def _settings(setting: Switch) -> dict[str, str]:
    """The settings ``setting`` changes, as ``create_workspace`` takes them."""
    pairs = (("identifier", setting.identifier), ("country", setting.country))
    return {name: value for name, value in pairs if value is not None}


def _change_text(setting: Switch) -> str:
    """The change ``setting`` names, in words."""
    if setting.identifier is not None:
        return f"Identifier {setting.identifier!r}"
    return f"Default country {setting.country!r}"


def _change(app: Leadkey, workspace: str, setting: Switch, dry_run: bool) -> RebuildReport:
    """Make (or with ``dry_run`` plan) the change ``setting`` names: its rebuild report."""
    if setting.identifier is not None:
        return app.change_identifier(workspace, setting.identifier, dry_run=dry_run)
    assert setting.country is not None  # the switch of `country set`
    return app.change_country(workspace, setting.country, dry_run=dry_run)


what_if_from_option = click.option(
    "--what-if-from",
    type=POSITION,
    metavar="POSITION",
    help="With --dry-run: also replay the log as if the change had been made just before "
    "this log position (0: at the workspace's creation); see: leadkey what-if --help.",
)


@main.group()
def identifier() -> None:
    """Change the lead identifier field."""


@identifier.command("set")
@click.argument("field")
@workspace_option
@store_option
@dry_run_option
@what_if_from_option
@json_option
@click.pass_context
def identifier_set(
    ctx: click.Context,
    field: str,
    workspace: str,
    dry_run: bool,
    what_if_from: int | None,
    as_json: bool,
) -> None:
    """Make FIELD the lead identifier and rebuild the identifier index."""
    _reconfigure(ctx, workspace, Switch(identifier=field), dry_run, as_json, what_if_from)


@main.group()
def country() -> None:
    """Change the default country for phone numbers."""


@country.command("set")
@click.argument("country_code", metavar="CC")
@workspace_option
@store_option
@dry_run_option
@what_if_from_option
@json_option
@click.pass_context
def country_set(
    ctx: click.Context,
    country_code: str,
    workspace: str,
    dry_run: bool,
    what_if_from: int | None,
    as_json: bool,
) -> None:
    """Make CC (ISO 3166 alpha-2, any case) the default country and rebuild the index."""
    country_code = check_country(country_code)  # in upper case, or a InvalidConfiguration
    _reconfigure(ctx, workspace, Switch(country=country_code), dry_run, as_json, what_if_from)
