"""CLI command groups contributed by CRM connectors (`oppworker hubspot ...`), loaded if present."""
