"""SQL usage sources: usage series and account fields read from a warehouse or a product database,
joined by key to the accounts any CRM connector reads (`enriched.EnrichedConnector`)."""

from connectors.sql.errors import SourceError
from connectors.sql.settings import UsageSourceSettings

__all__ = ["SourceError", "UsageSourceSettings"]
