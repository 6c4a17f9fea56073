"""A hand-written excerpt of HubSpot's 2026-03 OpenAPI files: the operations the connector calls, with
the body fields each one requires. Read from github.com/HubSpot/HubSpot-public-api-spec-collection
(snapshot 9989379, 2026-08-21); the files themselves are not ours to copy (their README), so only
these facts are kept:
- PublicApiSpecs/CRM/Companies|Tasks|Line Items/Rollouts/424/2026-03/*.json and
  PublicApiSpecs/CRM/Deals/Rollouts/424/2026-03/deals.json (deals as `0-3`): list (GET, query
  after/archived/associations/limit/properties/propertiesWithHistory), batch/read
  (BatchReadInputSimplePublicObjectId: inputs, properties, propertiesWithHistory; inputs[].id),
  batch/create (BatchInputSimplePublicObjectBatchInputForCreate: inputs[] with associations and
  properties; objectWriteTraceId optional), batch/update (inputs[] with id and properties), search
  (PublicObjectSearchRequest: after, filterGroups, limit, properties, sorts);
- PublicApiSpecs/CRM/{Notes,Emails,Calls}/Rollouts/424/2026-03/*.json: search (the same
  PublicObjectSearchRequest, same required fields), for conversations (issue #13);
- PublicApiSpecs/CRM/Associations/Rollouts/130902/2026-03/associations.json: batch/read
  (BatchInputPublicFetchAssociationsBatchRequest: inputs[].id);
- PublicApiSpecs/CRM/Properties/Rollouts/145899/2026-03/properties.json: GET/PATCH {propertyName}
  (PropertyUpdate: nothing required), POST (PropertyCreate: name, label, type, fieldType, groupName);
- PublicApiSpecs/CRM/Crm Owners/Rollouts/146888/2026-03/crmOwners.json: GET (after, archived, email, limit).
"""

from __future__ import annotations

import re
from typing import Any

OBJECT_PATH_TYPES = "companies|0-3|tasks|line_items"
LIST_QUERY = {"after", "archived", "associations", "limit", "properties", "propertiesWithHistory"}

# (method, path regex) -> (required top-level fields, required fields of each inputs[] item)
OPERATIONS: dict[tuple[str, str], tuple[set[str], set[str]]] = {
    ("GET", rf"/crm/objects/2026-03/({OBJECT_PATH_TYPES})"): (set(), set()),
    ("POST", rf"/crm/objects/2026-03/({OBJECT_PATH_TYPES})/batch/read"): (
        {"inputs", "properties", "propertiesWithHistory"},
        {"id"},
    ),
    ("POST", rf"/crm/objects/2026-03/({OBJECT_PATH_TYPES})/batch/create"): (
        {"inputs"},
        {"associations", "properties"},
    ),
    ("POST", rf"/crm/objects/2026-03/({OBJECT_PATH_TYPES})/batch/update"): ({"inputs"}, {"id", "properties"}),
    ("POST", rf"/crm/objects/2026-03/({OBJECT_PATH_TYPES})/search"): (
        {"after", "filterGroups", "limit", "properties", "sorts"},
        set(),
    ),
    ("POST", r"/crm/objects/2026-03/(notes|emails|calls)/search"): (
        {"after", "filterGroups", "limit", "properties", "sorts"},
        set(),
    ),
    ("POST", r"/crm/associations/2026-03/[^/]+/[^/]+/batch/read"): ({"inputs"}, {"id"}),
    ("GET", r"/crm/properties/2026-03/[^/]+/[^/]+"): (set(), set()),
    ("PATCH", r"/crm/properties/2026-03/[^/]+/[^/]+"): (set(), set()),
    ("POST", r"/crm/properties/2026-03/[^/]+"): ({"name", "label", "type", "fieldType", "groupName"}, set()),
    ("GET", r"/crm/owners/2026-03"): (set(), set()),
}


def violations(method: str, path: str, body: Any) -> list[str]:
    """Why this request does not match the excerpt (empty: it does)."""
    for (op_method, pattern), (required, per_input) in OPERATIONS.items():
        if op_method == method and re.fullmatch(pattern, path):
            problems = [f"{method} {path}: missing {name}" for name in sorted(required - set(body or {}))]
            for item in (body or {}).get("inputs") or []:
                problems += [
                    f"{method} {path}: an input lacks {name}" for name in sorted(per_input - set(item))
                ]
                trace = item.get("objectWriteTraceId")
                if trace is not None and not isinstance(trace, str):
                    problems.append(f"{method} {path}: objectWriteTraceId must be a string")
            return problems
    return [f"{method} {path}: not a 2026-03 operation in the excerpt"]
