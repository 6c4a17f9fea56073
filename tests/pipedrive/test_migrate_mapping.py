"""`oppworker migrate --dry-run` lists what it cannot map instead of guessing: an organization with no
Sell ID is matched by its exact name only when that name is unique; twins are listed as ambiguous,
and their ledger rows stay where they are."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import yaml
from click.testing import CliRunner

from tests.sandboxes.pipedrive import PipedriveSandbox
from tests.sandboxes.zendesk_sell import SellSandbox
from worker.cli import cli
from worker.store.ledger import Ledger

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_dry_run_maps_by_id_then_unique_name_and_lists_the_rest(tmp_path: Path) -> None:
    with SellSandbox() as sell, PipedriveSandbox() as box:
        box.add_user("Admin", "admin@example.com", me=True)
        box.define_field("organization", "Zendesk Sell id", "varchar")
        acme, globex, twin_a, twin_b, gone = (
            sell.add_organization(n)["id"] for n in ("Acme", "Globex", "Twin", "Twin", "Gone Ltd")
        )
        carried = box.add_organization("Acme (renamed)", fields={"Zendesk Sell id": str(acme)})["id"]
        by_name = box.add_organization("Globex")["id"]
        box.add_organization("Twin")
        config = tmp_path / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "database_url": f"sqlite:///{tmp_path}/ledger.db",
                    "output_dir": str(tmp_path / "out"),
                    "crm": {
                        "zendesk-sell": {"access_token": sell.token, "base_url": sell.url},
                        "pipedrive": {"api_token": box.token, "base_url": box.url},
                    },
                }
            )
        )
        Ledger(f"sqlite:///{tmp_path}/ledger.db").store_snapshots(
            "zendesk-sell", NOW.date(), [(str(twin_a), "active_users", 4.0)]
        )
        result = CliRunner().invoke(
            cli,
            [
                "--config",
                str(config),
                "migrate",
                "--from",
                "zendesk-sell",
                "--to",
                "pipedrive",
                "--dry-run",
                "--json",
            ],
            obj={},
        )
    assert result.exit_code == 0, result.output
    accounts = json.loads(result.output)["accounts"]
    assert accounts["mapped"] == {str(acme): str(carried), str(globex): str(by_name)}
    assert accounts["how"] == {str(acme): "carried_id", str(globex): "name"}
    assert {a["source_id"] for a in accounts["ambiguous"]} == {str(twin_a), str(twin_b)}
    assert accounts["missing"] == [str(gone)]
    assert json.loads(result.output)["rows"]["left_behind"] == {"ow_usage_snapshots": 1}
