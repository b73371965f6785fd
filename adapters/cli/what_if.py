"""``what-if``: the recorded payloads decided again under other settings or today's
rules, nothing recorded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from leadkey.projections.what_if import (
    Merge,
    PayloadChange,
    Split,
    Switch,
    WhatIfError,
    WhatIfReport,
)

from ..application import (
    Leadkey,
)
from .base import (
    POSITION,
    CliError,
    collision_line,
    echo_capped,
    echo_json,
    json_option,
    listed,
    main,
    open_app,
    store_option,
    until_option,
    workspace_option,
)


def run_what_if(
    app: Leadkey, workspace: str, switch: Switch, until: int | None = None
) -> WhatIfReport:
    """The what-if of ``switch`` over ``workspace``'s log; a :class:`WhatIfError` is a CliError."""
    app.check_workspace(workspace)  # an unknown workspace gets the usual message
    try:
        return app.what_if(workspace, switch, until=until)
    except WhatIfError as error:
        raise CliError(str(error)) from error


def _switch_text(switch: Switch) -> str:
    settings = [
        f"{name} {value!r}"
        for name, value in (("identifier", switch.identifier), ("default country", switch.country))
        if value is not None
    ] or ["the log's settings and today's rules"]
    start = f"from position {switch.position}" if switch.position else "from the start"
    return f"{' and '.join(settings)} {start}"


def _source_text(source: dict[str, Any] | None) -> str:
    if not source:
        return ""
    if set(source) == {"file", "line"}:
        return f" ({source['file']}:{source['line']})"
    return f" ({', '.join(f'{key} {value}' for key, value in source.items())})"


def _change_line(change: PayloadChange) -> str:
    """``position P (file:line): updated lead A -> updated lead B (key K), the what-if of
    actual lead C``: one changed decision, in words."""
    actual = change.actual
    if change.actual_lead is not None:
        actual += f" lead {change.actual_lead}"
    if change.hypothetical_lead is None:
        hypothetical = f"{change.hypothetical} ({change.reason})"
    else:
        hypothetical = (
            f"{change.hypothetical} lead {change.hypothetical_lead} (key {change.hypothetical_key})"
        )
    if change.hypothetical == "updated" and change.counterpart not in (
        change.actual_lead,
        change.hypothetical_lead,
    ):
        hypothetical += (
            f", the what-if of actual lead {change.counterpart}"
            if change.counterpart
            else ", a lead only the what-if has"
        )
    return f"position {change.position}{_source_text(change.source)}: {actual} -> {hypothetical}"


def _echo_what_if_summary(report: WhatIfReport) -> None:
    summary = report.summary()
    click.echo(f"  payloads     {summary['payloads']} replayed")
    click.echo(f"  changed      {summary['decisions_changed']} decisions")
    width = max((len(kind) for kind in summary["changed"]), default=0)
    digits = len(str(summary["decisions_changed"]))
    for kind, count in summary["changed"].items():
        click.echo(f"    {kind:<{width}}  {count:>{digits}}")
    click.echo(f"  rekeyed      {summary['keys_changed']} (same decision, another key)")
    click.echo(
        f"  leads        {summary['actual_leads']} actual, {summary['what_if_leads']} what-if"
    )
    merged = f" ({summary['leads_merged']} actual leads merge)" if report.merges else ""
    click.echo(f"  merges       {summary['merges']}{merged}")
    click.echo(f"  splits       {summary['splits']}")
    click.echo(f"  unreachable  {summary['unreachable']} (no payload would match them any more)")
    click.echo(f"  not created  {summary['not_created']} (every payload of theirs dropped)")
    click.echo(f"  new leads    {summary['new_leads']}")
    for rebuild in report.rebuilds:
        click.echo(
            f"  rebuild      by {rebuild.identifier}, generation {rebuild.generation}: "
            f"{len(rebuild.unreachable)} unreachable, {len(rebuild.collisions)} collisions"
        )


def _echo_what_if_details(report: WhatIfReport) -> None:
    for rebuild in report.rebuilds:
        if rebuild.unreachable or rebuild.collisions:
            click.echo(f"Rebuild by {rebuild.identifier}, generation {rebuild.generation}:")
        if rebuild.unreachable:
            click.echo(f"  no usable {rebuild.identifier} value: {listed(rebuild.unreachable)}")
        echo_capped(rebuild.collisions, collision_line, "  ")
    sections: list[tuple[str, Sequence[Any], Callable[[Any], str]]] = [
        ("Changed decisions (actual -> what-if):", report.changes, _change_line),
        ("Merges (what-if lead <- actual leads):", report.merges, _merge_line),
        ("Splits (actual lead -> what-if leads):", report.splits, _split_line),
        ("Unreachable (no payload would match them):", report.unreachable, str),
        ("Not created (every payload dropped):", report.not_created, str),
    ]
    for title, items, show in sections:
        if items:
            click.echo(title)
            echo_capped(items, show, "  ")


def _merge_line(merge: Merge) -> str:
    return f"{merge.lead} <- {listed(merge.actual_leads)}"


def _split_line(split: Split) -> str:
    dropped = f"; {split.dropped} payload(s) dropped" if split.dropped else ""
    return f"{split.actual_lead} -> {listed(split.leads)}{dropped}"


def echo_what_if(report: WhatIfReport) -> None:
    """Summary counts first, then the details, each list capped at ``LIST_LIMIT``."""
    switches = "; ".join(_switch_text(switch) for switch in report.switches)
    click.echo(
        f"What-if, nothing recorded: workspace {report.workspace!r} with {switches}, "
        f"replayed up to position {report.position}:"
    )
    _echo_what_if_summary(report)
    _echo_what_if_details(report)
    if report.identical:
        click.echo("identical: the what-if decides every payload as recorded")


@main.command("what-if")
@workspace_option
@store_option
@click.option("--identifier", metavar="FIELD", help="The lead identifier field to try.")
@click.option("--country", metavar="CC", help="The default country to try (ISO 3166 alpha-2).")
@click.option(
    "--from",
    "from_position",
    default=0,
    show_default=True,
    type=POSITION,
    metavar="POSITION",
    help="Switch just before this log position (0: from the workspace's creation).",
)
@until_option
@json_option
@click.pass_context
def what_if_command(
    ctx: click.Context,
    workspace: str,
    identifier: str | None,
    country: str | None,
    from_position: int,
    until: int | None,
    as_json: bool,
) -> None:
    """Replay the workspace's recorded payloads as if --identifier and/or --country had
    been in force from --from on, and report which decisions and leads would differ
    (merges, splits, unreachable, not created); nothing is recorded.

    Payloads are decided with today's rules and libraries; with neither --identifier
    nor --country, the what-if shows just what those change for payloads recorded
    under older ones (the settings stay as the log has them).

    --json prints one object: workspace, switches, position, identical, summary
    (the counts), rebuilds, changes, merges, splits, unreachable, not_created, new_leads.
    """
    switch = Switch(identifier=identifier, country=country, position=from_position)
    report = run_what_if(open_app(ctx, read_only=True), workspace, switch, until)
    if as_json:
        echo_json(report.as_dict())
    else:
        echo_what_if(report)
