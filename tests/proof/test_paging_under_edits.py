"""An incremental HubSpot read while users edit companies: no company may be skipped.

The incremental search filters on hs_lastmodifieddate < run start; a company edited while we page
leaves the result set. With offset paging the record after the page boundary then moved into the
page already read and was skipped, for good: it was modified before the new cursor, so no later
incremental pass would read it (found by this suite; fixed in connectors/hubspot/paging.py with
keyset paging on hs_object_id)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import ReadReport
from tests.hubspot.conftest import connector_for, install
from tests.hubspot.seed import seed_sample
from tests.sandboxes.hubspot import HubSpotSandbox
from tests.sandboxes.server import Request, Response


@pytest.mark.parametrize("edited_page_index", [0, 5, 9])
def test_a_company_edited_mid_read_does_not_make_another_one_skipped(edited_page_index: int) -> None:
    with HubSpotSandbox(
        token="pat-na1-test-secret-token", burst_limit=10_000, burst_window=1.0, search_limit=10_000
    ) as box:
        install(box)
        ids = seed_sample(box, 35, modified_ms=int(time.time() * 1000) - 3_600_000)
        searches = 0

        def edit_during_paging(request: Request) -> Response | None:
            nonlocal searches
            if request.path.endswith("/companies/search"):
                searches += 1
                if searches == 2:  # a user edits a company of the first page while we read the second
                    box.touch("companies", ids[edited_page_index])
            return None

        box.server.before.insert(0, edit_during_paging)
        connector = connector_for(box, search_page_size=10)
        cursor = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        read = [r.account.id for r in connector.read_accounts(cursor, ReadReport())]
        connector.close()
    assert searches >= 4
    # every company modified before the run started is read exactly once; the edited one may be read
    # now or (modified after the run started) by the next pass
    unedited = set(ids) - {ids[edited_page_index]}
    assert unedited <= set(read), sorted(unedited - set(read))
    assert len(read) == len(set(read))
