"""``explain`` and ``replay``: why payloads did what they did, and whether the log
re-derives every decision."""

from __future__ import annotations

from collections.abc import Sequence

import click

from leadkey.domain.errors import UnknownLead
from leadkey.projections import audit
from leadkey.projections.configuration import ConfigurationExplained

from .base import (
    POSITION,
    CliError,
    echo_capped,
    echo_json,
    json_option,
    main,
    not_found,
    open_app,
    shown,
    store_option,
    until_option,
    workspace_option,
)


@main.command()
@workspace_option
@store_option
@click.option("--lead", "lead_id", metavar="LEAD_ID", help="Every decision about this lead.")
@click.option(
    "--position", type=POSITION, metavar="POSITION", help="The decision at this position."
)
@click.option("--line", type=click.IntRange(min=1), help="The decision(s) for this input line.")
@click.option("--file", "file_name", metavar="FILE", help="With --line: only lines of FILE.")
@json_option
@click.pass_context
def explain(
    ctx: click.Context,
    workspace: str,
    lead_id: str | None,
    position: int | None,
    line: int | None,
    file_name: str | None,
    as_json: bool,
) -> None:
    """Explain why payloads created, updated or were dropped: for a lead, a log
    position, or an input line (of the workspace: lead ids and positions are global,
    so --workspace only applies to --line).  At a position that holds a change of a
    workspace's configuration, explain the change."""
    if sum(x is not None for x in (lead_id, position, line)) != 1:
        raise CliError("give exactly one of --lead, --position or --line")
    app = open_app(ctx, read_only=True)
    history: Sequence[audit.DecisionExplained | ConfigurationExplained]
    if lead_id is not None:
        try:
            history = app.explain_lead(lead_id)
        except UnknownLead:
            raise CliError(f"no lead {shown(lead_id)}") from None
    else:
        if position is None:
            app.check_workspace(workspace)
        positions = (
            [position]
            if position is not None
            else app.positions_of_line(workspace, line or 0, file_name)
        )
        found = [app.explain_position(p) for p in positions]
        history = [item for item in found if item is not None]
        if not history:
            if position is None:
                not_found(f"no decision at line {line}")
            not_found(f"no decision or configuration change at position {position}")
    if as_json:
        for item in history:
            echo_json(item.as_dict())
        return
    for item in history:
        echo_explained(item)


def echo_explained(
    item: audit.DecisionExplained | ConfigurationExplained, indent: str = ""
) -> None:
    """``position P (from FILE line N): why``, then what changed (old -> new) and, for a
    decision, the fields left as they were, rejected or ignored; each line after
    ``indent``."""
    source = item.source if isinstance(item, audit.DecisionExplained) else None
    origin = f" (from {source.get('file')} line {source.get('line')})" if source else ""
    click.echo(f"{indent}position {item.position}{origin}: {item.why()}")
    for name, (old, new) in item.changes.items():
        click.echo(f"{indent}    {name}: {old!r} -> {new!r}")
    if not isinstance(item, audit.DecisionExplained):
        return
    if item.unchanged:
        click.echo(f"{indent}    unchanged: {', '.join(item.unchanged)}")
    for field, why in {**item.rejected, **item.ignored}.items():
        click.echo(f"{indent}    {field}: not applied, {why}")


@main.command()
@workspace_option
@store_option
@click.option(
    "--verify",
    is_flag=True,
    help="Exit 1 if a decision is not re-derived (other than by an upgrade of leadkey's "
    "rules or libraries, which is reported).",
)
@click.option(
    "--exact", is_flag=True, help="Like --verify, but exit 1 on any divergence, upgrades too."
)
@until_option
@json_option
@click.pass_context
def replay(
    ctx: click.Context,
    workspace: str,
    verify: bool,
    until: int | None,
    as_json: bool,
    exact: bool,
) -> None:
    """Replay the workspace's log and decide every recorded payload again, under the
    configuration and index in force just before it."""
    app = open_app(ctx, read_only=True)
    report = app.replay(workspace, until=until)
    checked = app.stored_index_differences(workspace) if verify or exact else None
    if as_json:
        data = report.as_dict()
        if checked is not None:
            data["stored_index"] = {"position": checked[0], "differences": checked[1]}
        echo_json(data)
    else:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.decisions.items()))
        click.echo(
            f"Replayed workspace {workspace!r} up to position {report.position}: "
            f"{sum(report.decisions.values())} decisions ({counts or 'none'})."
        )
        echo_capped(report.divergences, _divergence_lines, "  ")
        _echo_divergence_kinds(report.kinds())
        if checked is not None:
            _echo_stored_index(*checked)
    if (exact and not report.exact) or (verify and not report.verified):  # --exact: --verify too
        raise click.exceptions.Exit(1)
    if checked is not None and checked[1]:
        raise click.exceptions.Exit(1)


def _echo_stored_index(position: int, differences: list[str]) -> None:
    if not differences:
        click.echo(f"The stored index equals a rebuild from the log at position {position}.")
        return
    click.echo(
        f"The stored index differs from a rebuild from the log at position {position} "
        "(leadkey index rebuild builds it again from the log):"
    )
    echo_capped(differences, str, "  ")


def _divergence_lines(divergence: audit.Divergence) -> str:
    """``position P: cause``, then a line per difference, values shortened."""
    data = divergence.as_dict()
    lines = [f"position {data['position']}: {data['cause']}"]
    for name, values in data["differences"].items():
        recorded, now = shown(values["recorded"]), shown(values["replayed"])
        lines.append(f"    {name}: recorded {recorded}, now {now}")
    return "\n".join(lines)


#: How ``replay`` words each kind of divergence (see ``audit.Divergence.kind``).
_DIVERGENCE_KINDS = {
    "rules": "decision(s) were recorded under other leadkey rules, which decide them "
    "differently (an upgrade explains this; a replay cannot tell it from an altered record; "
    "what today's rules change: leadkey what-if, with no setting)",
    "versions": "decision(s) were recorded under other library versions, which decide them "
    "differently (an upgrade explains this; a replay cannot tell it from an altered record)",
    "log": "decision(s) are not re-derived.",
}


def _echo_divergence_kinds(kinds: dict[str, int]) -> None:
    if not kinds:
        click.echo("Every decision is re-derived from the log.")
    for kind, words in _DIVERGENCE_KINDS.items():
        if kinds.get(kind):
            click.echo(f"{kinds[kind]} {words}")
