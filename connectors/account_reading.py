"""Reading a CRM record's mapped account fields and usage metrics, for the CRMs that keep them as
named fields on one record (Pipedrive organizations, Zendesk Sell organisation contacts). How a value
is found (`read`) and converted differs per CRM and stays in each mapping; the loop, what counts as
absent and how an unreadable value is counted are the same, so they are written once here. The rules
for a value once found are in connectors/account_fields.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from connectors.base import ReadReport, usage_point
from connectors.field_values import parse_number
from domain import UsagePoint


def mapped_values(
    field_map: Mapping[str, str],
    read: Callable[[str], Any],
    convert: Callable[[str, Any], Any],
    account_id: str,
    report: ReadReport,
) -> dict[str, Any]:
    """canonical field -> converted value, for every mapped field the record holds. `read(name)`
    finds the raw value (None: absent; KeyError: a field the CRM account has not defined, also
    absent); a value `convert` cannot take is dropped and counted as `unreadable_<field>`."""
    values: dict[str, Any] = {}
    for canonical, name in field_map.items():
        try:
            raw = read(name)
            if raw is None:
                continue
            values[canonical] = convert(canonical, raw)
        except KeyError:
            continue
        except (ValueError, TypeError) as exc:
            report.default(f"unreadable_{canonical}", account_id, str(exc)[:120])
    return values


def usage_points(
    usage_map: Mapping[str, str],
    read: Callable[[str], Any],
    account_id: str,
    today: date,
    report: ReadReport,
) -> list[UsagePoint]:
    """One last-30-days UsagePoint per mapped metric the record holds (`read` as for
    `mapped_values`). An unreadable or negative number is counted as `unreadable_usage_<metric>`,
    one beyond the domain's range as `invalid_usage_<metric>`; either drops only that metric."""
    usage: list[UsagePoint] = []
    period_start = today - timedelta(days=30)
    for metric, name in usage_map.items():
        try:
            number = parse_number(read(name))
            if number is None:
                continue
            if number < 0:
                raise ValueError(f"negative usage {number}")
        except KeyError:
            continue
        except (ValueError, TypeError) as exc:
            report.default(f"unreadable_usage_{metric}", account_id, str(exc)[:120])
            continue
        point = usage_point(report, account_id, metric, period_start, number)
        if point is not None:  # out of the domain's range: dropped and counted, not raised
            usage.append(point)
    return usage
