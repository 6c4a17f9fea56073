"""The HTML report rendered by a real browser (headless Chromium), not only checked as a string:
the DOM Chromium builds from the file, and the pixels it paints (bars and win-rate line in their
colours). Skips when Chromium is absent, unless OPPWORKER_REQUIRE_SERVICES=1 (CI), then fails."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from worker.outcomes.html import BAR, LINE, render_html
from worker.outcomes.report import build_report
from worker.store.outcomes import OutcomeStore

from .png import count_colour, read_png
from .test_report import deal

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found:
        return found
    message = "chromium is not installed (apt-get install -y chromium): cannot render the HTML report"
    if os.environ.get("OPPWORKER_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def run_chromium(binary: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"  # a fresh profile per launch
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


class Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def having(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [
            a for t, a in self.tags if t == tag and (cls is None or cls in (a.get("class") or "").split())
        ]


def hex_rgb(value: str) -> tuple[int, int, int]:
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


@pytest.fixture
def report_file(tmp_path) -> Path:
    store = OutcomeStore(create_engine(f"sqlite:///{tmp_path / 'ledger.db'}"))
    rows = []
    for week in range(8):  # two playbooks, a few wins and losses each week
        for n in range(3):
            day = date(2026, 8, 3) + timedelta(weeks=week)
            won = (week + n) % 3 != 0
            rows.append(
                deal(
                    f"s{week}{n}",
                    f"s{week}{n}",
                    "seat_expansion",
                    "upsell",
                    80,
                    "value_realised",
                    "2026-07-20",
                    "won" if won else "lost",
                    f"{day}T12:00:00",
                    1000.0 * (n + 1) if won else None,
                )
            )
            rows.append(
                deal(
                    f"p{week}{n}",
                    f"p{week}{n}",
                    "plan_upgrade",
                    "upsell",
                    70,
                    "renewal_window",
                    "2026-07-20",
                    "won" if n == 0 else "lost",
                    f"{day}T12:00:00",
                    400.0 if n == 0 else None,
                )
            )
    store.save("files", rows, [], [])
    report = build_report(store, datetime(2026, 10, 1, tzinfo=UTC))
    path = tmp_path / "outcomes.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


def test_html_report_is_self_contained(report_file):
    text = report_file.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)  # nothing fetched from anywhere
    assert "<script" not in text and "@import" not in text


def test_chromium_builds_the_page(report_file, tmp_path):
    result = run_chromium(chromium(), tmp_path, "--dump-dom", report_file.as_uri())
    dom = Dom()
    dom.feed(result.stdout)
    charts = dom.having("svg", "chart")
    assert sorted(c["data-playbook"] for c in charts) == ["plan_upgrade", "seat_expansion"]
    assert len(dom.having("rect", "bar")) == 16  # 8 weeks with wins, per playbook
    assert len(dom.having("polyline", "rate")) == 2
    assert len(dom.having("table", "figures")) == 4
    text = " ".join(dom.text)
    assert "Did the offers work?" in text and "No playbook declares a holdout" in text
    # seat_expansion: 16 of 24 won; plan_upgrade: 8 of 24; total 24 of 48.
    assert re.search(r"win rate\s+50%", text)


def test_chromium_paints_the_chart(report_file, tmp_path):
    shot = tmp_path / "shot.png"
    run_chromium(
        chromium(), tmp_path, f"--screenshot={shot}", "--window-size=1400,1000", report_file.as_uri()
    )
    width, height, rows = read_png(shot)
    assert (width, height) == (1400, 1000)
    bars, line = count_colour(rows, hex_rgb(BAR)), count_colour(rows, hex_rgb(LINE))
    assert bars > 2000, f"only {bars} pixels in the bar colour: the chart's bars were not painted"
    assert line > 300, f"only {line} pixels in the line colour: the win-rate line was not painted"
    blank = sum(1 for row in rows[::10] if len(set(row)) <= 3)
    assert blank < len(rows[::10]), "the screenshot is blank"


def test_axis_tops_are_round_numbers():
    from worker.outcomes.html import nice_ceiling

    assert [nice_ceiling(v) for v in (94_260, 28_500, 5_000, 5_001, 0)] == [
        100_000,
        50_000,
        5_000,
        10_000,
        1.0,
    ]
