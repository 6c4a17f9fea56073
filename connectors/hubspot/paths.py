"""Endpoint paths for the API version the connector is set to (`api_version`: `2026-03` or `v3`).

HubSpot publishes date-versioned paths next to v3/v4 and ends support for v1-v3 in September 2027
(https://developers.hubspot.com/changelog/legacy-apis-and-legacy-apps-whats-going-unsupported-and-when).
The 2026-03 shapes below are read from HubSpot's OpenAPI files in
github.com/HubSpot/HubSpot-public-api-spec-collection (snapshot 9989379):
- objects:      PublicApiSpecs/CRM/{Companies,Tasks,Line Items}/Rollouts/424/2026-03/*.json
                -> /crm/objects/2026-03/{companies|tasks|line_items}[/batch/{op}|/search]
- deals:        PublicApiSpecs/CRM/Deals/Rollouts/424/2026-03/deals.json writes the deal paths with the
                object type id, /crm/objects/2026-03/0-3/..., so we do too;
- associations: PublicApiSpecs/CRM/Associations/Rollouts/130902/2026-03/associations.json
                -> /crm/associations/2026-03/{fromObjectType}/{toObjectType}/batch/{read|create|...}
                (the v4 batch endpoints' successor);
- properties:   PublicApiSpecs/CRM/Properties/Rollouts/145899/2026-03/properties.json
                -> /crm/properties/2026-03/{objectType}[/{propertyName}];
- owners:       PublicApiSpecs/CRM/Crm Owners/Rollouts/146888/2026-03/crmOwners.json -> /crm/owners/2026-03.
Request and response bodies are the same as v3's for every call we make (batch read still requires
`propertiesWithHistory`, batch create inputs still take `objectWriteTraceId` and `associations`).

Rate-limit exemptions are in the same files (`x-hubspot-rate-limit-exemptions: ["ten-secondly"]`):
every POST .../search and every association batch endpoint, in both versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ApiVersion = Literal["2026-03", "v3"]
DATED: ApiVersion = "2026-03"

# Object types whose 2026-03 spec file writes the path with the type id rather than the name.
TYPE_ID_IN_DATED_PATHS = {"deals": "0-3"}

_EXEMPT = re.compile(
    r"^/crm/(?:v3/objects|objects/2026-03)/[^/]+/search$"
    r"|^/crm/(?:v4/associations|associations/2026-03)/[^/]+/[^/]+/batch/[\w/]+$"
)


def exempt_from_ten_secondly(method: str, path: str) -> bool:
    """Whether HubSpot leaves this call out of the ten-secondly burst budget (search has its own
    per-second limit instead; association batch calls have none of their own)."""
    return method.upper() == "POST" and bool(_EXEMPT.match(path))


@dataclass(frozen=True)
class Paths:
    version: ApiVersion = DATED

    @property
    def dated(self) -> bool:
        return self.version == DATED

    def objects(self, object_type: str) -> str:
        if self.dated:
            return f"/crm/objects/{DATED}/{TYPE_ID_IN_DATED_PATHS.get(object_type, object_type)}"
        return f"/crm/v3/objects/{object_type}"

    def search(self, object_type: str) -> str:
        return self.objects(object_type) + "/search"

    def batch(self, object_type: str, operation: str) -> str:
        return f"{self.objects(object_type)}/batch/{operation}"

    def association_batch(self, from_type: str, to_type: str, operation: str) -> str:
        prefix = f"/crm/associations/{DATED}" if self.dated else "/crm/v4/associations"
        return f"{prefix}/{from_type}/{to_type}/batch/{operation}"

    def owners(self) -> str:
        return f"/crm/owners/{DATED}" if self.dated else "/crm/v3/owners"

    def properties(self, object_type: str, name: str | None = None) -> str:
        base = f"/crm/properties/{DATED}/{object_type}" if self.dated else f"/crm/v3/properties/{object_type}"
        return f"{base}/{name}" if name else base
