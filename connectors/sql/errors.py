"""Errors of SQL sources. Every message names the source and never carries its credentials."""

from __future__ import annotations

from domain import ConnectorError


class SourceError(ConnectorError):
    """A SQL source failed: down, a query that fails, wrong columns or values. Fatal for the pass,
    raised before the pass's first write when the source is down or its query is wrong."""
