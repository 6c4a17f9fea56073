"""Zendesk Sell (ex-Base CRM) connector: organisation contacts in, deals and follow-up tasks out.

Read `connector.py` first: it wires `settings` (config), `client` (HTTP only), `mapping` (pure JSON <->
domain), `reader` (paged Core API scans and the Firehose change stream) and `writer` (deal upsert and
task create with a read-back marker, exactly once).
"""
