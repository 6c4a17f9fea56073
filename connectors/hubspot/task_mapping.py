"""Follow-up tasks as HubSpot task inputs, and the marker line that finds a task we wrote.

Apart from `mapping.py` (companies, owners, deals) because a task body is rich text with its own
escaping and read-back rules (#16), which change independently of the deal and company fields.
"""

from __future__ import annotations

import html
import re
from typing import Any

from connectors.hubspot.associations import TASK_TO_COMPANY, TASK_TO_DEAL, association
from connectors.hubspot.values import iso_midnight
from domain import FollowUpTask
from domain.opportunity import TASK_MARKER  # the last line of every task body we write


def with_marker(body: str, key: str) -> str:
    """The task body always ends with the marker line, whether or not the renderer added it."""
    marker = f"{TASK_MARKER} {key}"
    stripped = body.rstrip()
    if stripped.splitlines() and stripped.splitlines()[-1].strip() == marker:
        return stripped
    return f"{stripped}\n\n{marker}" if stripped else marker


def marker_key(body: str | None) -> str | None:
    """The opportunity key from a task body's last marker line (HubSpot's editor stores task bodies
    as HTML, so tags become line breaks and entities are decoded before looking)."""
    if not body:
        return None
    text = html.unescape(re.sub(r"<[^>]*>", "\n", body))
    for line in reversed([line.strip() for line in text.splitlines() if line.strip()]):
        if line.startswith(TASK_MARKER):
            return line[len(TASK_MARKER) :].strip() or None
    return None


def html_body(text: str) -> str:
    """HubSpot shows `hs_task_body` as rich text (HTML), so the plain body is escaped (a `<script>`
    in an account name or a playbook title stays text, #16) and its line breaks become `<br>`.
    `marker_key` reads it back: tags become line breaks and entities are decoded."""
    return "<br>\n".join(html.escape(line, quote=False) for line in text.split("\n"))


def task_properties(task: FollowUpTask, task_type: str) -> dict[str, str]:
    """Task properties (https://developers.hubspot.com/docs/api/crm/tasks): hs_timestamp (due date,
    required) and the rest."""
    props = {
        "hs_timestamp": iso_midnight(task.due_date),
        "hs_task_subject": task.subject[:250],
        "hs_task_body": html_body(with_marker(task.body, task.opportunity_key)),
        "hs_task_priority": task.priority,
        "hs_task_status": "NOT_STARTED",
        "hs_task_type": task_type,
    }
    if task.owner_id:
        props["hubspot_owner_id"] = task.owner_id
    return props


def task_create_input(task: FollowUpTask, deal_id: str, task_type: str) -> dict[str, Any]:
    """Batch create input with the associations the spec marks required: company and deal."""
    return {
        "properties": task_properties(task, task_type),
        "associations": [association(task.account_id, TASK_TO_COMPANY), association(deal_id, TASK_TO_DEAL)],
        "objectWriteTraceId": task.opportunity_key,
    }
