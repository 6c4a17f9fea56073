"""CRM connectors: one folder per CRM behind the small protocol in `connectors.base`.

All HTTP in the project lives under this package. Connectors map CRM records onto the canonical
types in `domain` and never import `playbooks`.
"""
