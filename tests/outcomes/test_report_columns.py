"""The outcome report's columns are written once (worker/outcomes/columns.py): the terminal tables
and the HTML tables show the same header names and the same cell texts, each escaped for its own
medium, so a playbook named like markup is printed as text by both."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

from rich.console import Console

from worker.cli.outcomes import _figures_table, _holdout_table
from worker.outcomes import columns
from worker.outcomes.figures import Figures
from worker.outcomes.holdouts import HoldoutComparison
from worker.outcomes.html import render_html
from worker.outcomes.money import MoneyNote
from worker.outcomes.report import OutcomeReport

HOSTILE = "Acme [/bold] <b>&"

WON = Figures(group="seat_expansion", created=3, tasks_completed=2, won=1, lost=1, open=1)
WON.won_amount, WON.win_rate, WON.median_days_to_close = 12345.0, 0.5, 10.0
PER_CURRENCY = Figures(group=HOSTILE, created=2, won=2, won_amount=None, win_rate=1.0)
PER_CURRENCY.won_amounts, PER_CURRENCY.median_days_to_close = {"USD": 800.0, "EUR": 1200.0}, 3.5
NOTHING = Figures(group="70-79", created=1, deleted=1)

CONCLUDED = HoldoutComparison(
    "seat_expansion", 40, 30, 30, 40, 10, 0.75, 0.25, 0.5, 0.2834, 0.6512, "treated accounts expanded more"
)
TOO_FEW = HoldoutComparison(
    HOSTILE, 3, 2, 1, 3, 1, 2 / 3, 1 / 3, 1 / 3, None, None, "too few accounts to conclude anything"
)


def test_each_cell_text() -> None:
    assert columns.figures_header("kind") == ("kind", *columns.FIGURES)
    assert columns.FIGURES[-1] == "median days to close"
    assert columns.figures_row(WON) == (
        "seat_expansion",
        *("3", "2", "1", "1", "1", "0"),
        "50%",
        "12,345",
        "10",
    )
    assert columns.figures_row(PER_CURRENCY)[-3:] == ("100%", "EUR 1,200; USD 800", "3.5")
    assert columns.figures_row(NOTHING)[-3:] == ("–", "0", "–")
    assert columns.holdout_row(CONCLUDED) == (
        "seat_expansion",
        "40",
        "75%",
        "40",
        "25%",
        "+50.0 pts",
        "+28 to +65 pts",
        "treated accounts expanded more",
    )
    assert columns.holdout_row(TOO_FEW)[1:7] == ("3", "67%", "3", "33%", "+33.3 pts", "–")
    assert columns.too_few(TOO_FEW) and not columns.too_few(CONCLUDED)


class Tables(HTMLParser):
    """Each table's rows as the browser reads them: cell texts (entities decoded), and span classes."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.spans: list[tuple[str | None, str]] = []
        self._cell: list[str] | None = None
        self._span: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("th", "td"):
            self._cell = []
        elif tag == "span" and self._cell is not None:
            self._span = dict(attrs).get("class") or ""

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            text = "".join(self._cell)
            self.tables[-1][-1].append(text)
            if self._span is not None:
                self.spans.append((self._span, text))
            self._cell, self._span = None, None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _report() -> OutcomeReport:
    rows = [WON, PER_CURRENCY, NOTHING]
    return OutcomeReport(
        generated_at=datetime(2026, 10, 20, tzinfo=UTC),
        since=None,
        crm=None,
        total=WON,
        by_playbook=rows,
        by_kind=rows,
        by_stage=rows,
        by_score_band=rows,
        period="week",
        timeline={},
        holdouts=[CONCLUDED, TOO_FEW],
        money=MoneyNote(None, False, ("EUR", "USD"), {}),
    )


def test_html_and_terminal_show_the_same_columns() -> None:
    report = _report()
    page = Tables()
    page.feed(render_html(report))
    figures, holdouts = page.tables[:4], page.tables[4]
    firsts = ("playbook", "kind", "journey stage", "score")
    rows = [columns.figures_row(f) for f in report.by_playbook]
    for first, table in zip(firsts, figures, strict=True):
        assert [tuple(r) for r in table] == [columns.figures_header(first), *rows]
    assert [tuple(r) for r in holdouts] == [columns.HOLDOUTS, *map(columns.holdout_row, report.holdouts)]
    assert page.spans == [("", CONCLUDED.conclusion), ("warn", TOO_FEW.conclusion)]

    console = Console(record=True, width=400)
    for title, first in zip(("Per playbook", "Per kind", "Per journey stage", "Per score band"), firsts):
        console.print(_figures_table(title, first, report.by_playbook))
    console.print(_holdout_table(report.holdouts))
    lines = console.export_text().splitlines()

    printed: list[list[str]] = []
    for line in lines:  # a header wrapped onto two lines ("treated / accounts") is one row
        if line.startswith(("│", "┃")):
            cells = [c.strip() for c in line.replace("┃", "│").split("│")[1:-1]]
            if line.startswith("┃") and printed and printed[-1][0] == "┃":
                cells = [f"{a} {b}".strip() for a, b in zip(printed.pop()[1:], cells, strict=True)]
            printed.append([line[0], *cells])
    printed = [row[1:] for row in printed]
    expected = [
        *(r for first in firsts for r in (columns.figures_header(first), *rows)),
        columns.HOLDOUTS,
        *map(columns.holdout_row, report.holdouts),
    ]
    assert printed == [list(r) for r in expected]  # HOSTILE too: escaped for rich, printed as text
