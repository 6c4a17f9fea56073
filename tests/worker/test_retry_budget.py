"""The task retry policy respects the HTTP client's retry budget: a `RetryBudgetExhausted` fails
the run at once (the client already retried; a task retry on top would multiply the calls), while
an error the client did not retry (a create it must not resend blindly) still gets a task retry."""

from __future__ import annotations

import logging
import uuid

import pytest

from domain import ConnectorError, FailureKind, RetryBudgetExhausted

pytestmark = [pytest.mark.services]


def _raise(error: Exception) -> None:
    raise error


def test_spent_client_budget_fails_the_run_without_a_task_retry(
    service_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    from worker.service.enqueue import pass_report
    from worker.service.errors import PassFailed
    from worker.service.retry import step
    from worker.service.tasks import start_pass

    run_id = uuid.uuid4().hex
    last = ConnectorError(
        "HTTP 503 from GET /crm/v3/objects/companies: down", FailureKind.TRANSIENT, status=503
    )
    spent = RetryBudgetExhausted(last, attempts=6)
    with caplog.at_level(logging.WARNING), pytest.raises(PassFailed) as caught:
        step(start_pass, run_id, "hubspot", lambda: _raise(spent))
    assert "retrying in" not in caplog.text
    assert "gave up after 6 attempts" in str(caught.value) and "next pass tries again" in str(caught.value)
    row = pass_report(run_id)
    assert row is not None and row["status"] == "failed" and "transient" in row["error"]


def test_an_error_the_client_did_not_retry_is_still_retried_by_the_task(
    service_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    from worker.service.enqueue import pass_report
    from worker.service.errors import PassFailed
    from worker.service.retry import step
    from worker.service.tasks import start_pass

    run_id = uuid.uuid4().hex
    unsure = ConnectorError(
        "timeout calling POST /v2/tasks", FailureKind.TRANSIENT
    )  # retry_if said: look first
    with caplog.at_level(logging.WARNING), pytest.raises(PassFailed):
        # Called directly (not by a worker), Celery's `retry` raises the exception it was given.
        step(start_pass, run_id, "zendesk-sell", lambda: _raise(unsure))
    assert "retrying in" in caplog.text
    assert pass_report(run_id) is None  # not failed: the retry will run the step again
