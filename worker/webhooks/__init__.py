"""The webhook receiver (Starlette): verify, de-duplicate, enqueue a re-score; never a CRM call."""

from worker.webhooks.app import create_app

__all__ = ["create_app"]
