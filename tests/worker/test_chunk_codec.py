"""The reader-to-scorer stash: a record survives the trip with the same series the engine reads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from connectors.base import AccountRecord
from connectors.files.sample import iter_accounts
from domain import Account, Series, UsagePoint
from worker.pipeline.assess import usage_series
from worker.service import chunk_codec

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _records(n: int) -> list[AccountRecord]:
    records = []
    for _, row, usage in iter_accounts(n, seed=3, showcase=False):
        account = Account.model_validate(row)
        points = [
            UsagePoint(account_id=account.id, metric=m, period_start=d, value=v)
            for m, series in usage.items()
            for d, v in zip(series.days, series.values, strict=True)
        ]
        records.append(AccountRecord(account, points))
    return records


def _trip(record: AccountRecord) -> AccountRecord:
    return chunk_codec.decode(json.loads(json.dumps(chunk_codec.encode(record))))


def test_a_series_record_comes_back_with_the_series_the_engine_reads() -> None:
    for record in _records(25):
        back = _trip(record)
        assert back.account == record.account
        assert back.usage == [] and not back.usage_is_snapshot
        assert usage_series(back, {}, NOW) == usage_series(record, {}, NOW)
        assert back.series and all(len(series.days) > 10 for series in back.series.values())


def test_a_records_series_come_back_equal_with_one_days_tuple_per_account() -> None:
    _, row, usage = next(iter_accounts(1, seed=3, showcase=False))
    record = AccountRecord(Account.model_validate(row), [], False, usage)
    back = _trip(record)
    assert back.series == {m: Series(s.days, tuple(map(float, s.values))) for m, s in usage.items()}
    assert len({id(series.days) for series in back.series.values()}) == 1


def test_days_sent_out_of_order_are_sorted_on_the_way_in() -> None:
    record = _records(1)[0]
    data = json.loads(json.dumps(chunk_codec.encode(record)))
    data["series"] = {"api_calls": [[739000, 738990], [2, 1]], "seats": [[738990], [5]]}
    back = chunk_codec.decode(data)
    assert back.series == {
        "api_calls": Series((date.fromordinal(738990), date.fromordinal(739000)), (1.0, 2.0)),
        "seats": Series((date.fromordinal(738990),), (5.0,)),
    }


def test_a_record_that_already_carries_its_series_travels_the_same_way() -> None:
    record = _records(1)[0]
    grouped = AccountRecord(record.account, [], False, usage_series(record, {}, NOW))
    assert chunk_codec.encode(grouped) == chunk_codec.encode(record)


def test_snapshot_values_stay_points() -> None:
    account = _records(1)[0].account
    points = [
        UsagePoint(account_id=account.id, metric="active_users", period_start=date(2026, 10, 31), value=41.0)
    ]
    back = _trip(AccountRecord(account, points, True))
    assert back.usage_is_snapshot and back.series is None
    assert back.usage == points


def test_the_stash_is_several_times_smaller_than_one_object_per_point() -> None:
    record = _records(1)[0]
    compact = len(json.dumps(chunk_codec.encode(record)))
    per_point = len(json.dumps([p.model_dump(mode="json") for p in record.usage]))
    assert compact * 3 < per_point
