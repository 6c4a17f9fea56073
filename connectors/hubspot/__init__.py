"""HubSpot CRM connector: companies in, deals and follow-up tasks out, exactly once, under the rate limit.

Layout (one concept per module): `settings` (config), `client` (HTTP on the shared ApiClient and
HubSpot's error shapes), `paging` (list cursors and search windowing past the 10,000-result cap),
`mapping` (pure JSON <-> domain), `writer` (exactly-once deals and tasks), `products` (owned products
from won deals' line items), `setup` (custom properties and scope check), `connector` (the `Connector`
the worker drives, with the optional outcome and history readers).
"""
