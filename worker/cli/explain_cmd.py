"""`oppworker explain ACCOUNT`: one account's journey stage and every playbook's score, with why it
did or did not fire, an offer already written named as "already open" with its deal, and where each
number came from. What a CSM asks before trusting a task."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from connectors.registry import available
from playbooks.loader import PlaybookError
from playbooks.render import render_explanation
from worker.cli.console import console, parse_as_of
from worker.cli.console import settings_from as _settings


@click.command()
@click.argument("account_id")
@click.option("--crm", type=click.Choice(available()), default="files", show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--as-of")
@click.pass_context
def explain(
    ctx: click.Context,
    account_id: str,
    crm: str,
    data_dir: Path | None,
    output_dir: Path | None,
    as_of: str | None,
) -> None:
    """Show one account's journey stage and every playbook's score, with why it did or did not fire."""
    from worker.pipeline.explain import describe_open_deal, explain_account
    from worker.pipeline.provenance import describe_provenance

    settings = _settings(ctx, data_dir=data_dir, output_dir=output_dir)
    try:
        provenance: dict[str, str] = {}
        result = explain_account(settings, account_id, crm, now=parse_as_of(as_of), provenance=provenance)
    except PlaybookError as exc:
        raise click.ClickException(f"playbook: {exc}") from None
    if result is None:
        raise click.ClickException(f"account {account_id!r} not found in {crm}")
    account = result.account
    console.print(
        f"[bold]{escape(account.name)}[/bold] ({escape(account.id)}), plan {escape(str(account.plan))}, "
        f"owner {escape(account.owner_email or account.owner_id or 'none')}"
    )
    if provenance:  # values from SQL usage sources (connectors/sql), the rest is the CRM's
        console.print(
            f"From SQL sources: {describe_provenance(account, provenance)}", markup=False, highlight=False
        )
    console.print(f"Journey stage: [bold]{result.stage.value}[/bold] because {escape(result.stage_reason)}")
    from playbooks.intent_signals import render_heard  # what the customer said (issue #13)

    console.print(render_heard(result.heard), markup=False, highlight=False)
    for outcome in result.outcomes:
        playbook = outcome.playbook
        verdict = {
            "new": "[green]FIRES[/green]",
            "already_open": "[yellow]already open[/yellow]",
            "suppressed": "[red]suppressed[/red]",
            "below_threshold": "does not fire",
            "holdout": "[cyan]held out (control group: recorded, not offered)[/cyan]",
        }[outcome.status]
        why = f" ({escape(outcome.reason)})" if outcome.reason else ""
        if outcome.note:  # the readable cause behind a fixed reason: which price, which currency
            why += f": {escape(outcome.note)}"
        if outcome.status == "already_open" and playbook.id in result.open_deals:
            why = f": {escape(describe_open_deal(result.open_deals[playbook.id]))}"
        console.print(
            f"\n[bold]{escape(playbook.id)}[/bold] ({playbook.kind.value}): score {outcome.score.score}/100, "
            f"needs {playbook.threshold}: {verdict}{why}"
        )
        console.print(render_explanation(outcome.score.contributions()), markup=False, highlight=False)
        if outcome.opportunity is not None:
            console.print(
                f"  -> {outcome.opportunity.title}, est. {outcome.opportunity.currency} "
                f"{outcome.opportunity.estimated_amount:,.2f}, key {outcome.opportunity.key}",
                markup=False,
            )


commands = (explain,)
