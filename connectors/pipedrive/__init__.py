"""Pipedrive connector: organizations in, deals and follow-up activities out (API v2; v1 only for
users, notes, activity types and webhooks).

Read `connector.py` first: it wires `settings` (config), `client` (HTTP, the one status table, token
budget), `mapping` (pure JSON <-> domain), `reader` (cursor-paged scans, field keys by name) and
`writer` (deal and activity creates made exactly once by looking first).
"""
