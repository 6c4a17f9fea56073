"""The `usage_sources:` section of the settings file: one entry per SQL source.

```yaml
usage_sources:
  - name: warehouse
    url: postgresql+psycopg://reader@db/analytics     # any SQLAlchemy URL
    password_env: WAREHOUSE_PASSWORD                   # or password_file: /run/secrets/warehouse
    account_key: id                                    # canonical field, or a CRM property
    usage_query: SELECT company_id AS account_key, metric, week AS period_start, value
                 FROM product.usage_weekly WHERE week >= :since
    fields_query: SELECT company_id AS account_key, seats_used FROM product.accounts
```

Secrets stay out of the file: `${VAR}` in the URL is read from the environment, and
`password_env` / `password_file` (a Docker/Kubernetes secrets file) set the URL's password. The
resolved URL is a `SecretStr`, so a repr or a log line of the settings never shows it; `masked_url`
is what messages print.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from domain import Account

# Canonical fields a fields_query may override: every Account field but the id it joins on.
OVERRIDABLE_FIELDS = frozenset(Account.model_fields) - {"id"}
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


def _expand_env(text: str) -> str:
    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"the URL refers to ${{{name}}}, which is not set in the environment")
        return os.environ[name]

    return _ENV_REFERENCE.sub(value_of, text)


class UsageSourceSettings(BaseModel):
    """One SQL source. Validated when the settings load, so a typo fails at start, source named."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: SecretStr
    password_env: str | None = None
    password_file: Path | None = None
    account_key: str = "id"
    usage_query: str | None = None
    fields_query: str | None = None
    # Accounts per join query (`WHERE account_key IN (...)`); bounds memory to one chunk's rows.
    chunk_size: int = Field(default=2000, ge=1, le=50_000)
    # Rows fetched per round trip from a server-side cursor.
    fetch_size: int = Field(default=10_000, ge=1)
    # `:since` when series are read: this many days before the data's date, on every pass (see
    # enriched.py for why an incremental pass reads the same window).
    history_days: int = Field(default=365, ge=1)
    # Incremental pass: accounts with rows for periods starting this many days before the last clean
    # pass are re-assessed though the CRM did not change them (a week still open then got new rows).
    new_usage_overlap_days: int = Field(default=7, ge=0)
    connect_timeout_seconds: int = Field(default=10, ge=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("a source name is a letter then letters, digits, '_' or '-' (at most 40)")
        return value

    @field_validator("usage_query", "fields_query")
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip().rstrip(";").strip()  # it becomes a subquery: no trailing semicolon
        if not text:
            raise ValueError("an empty query")
        return text

    @model_validator(mode="after")
    def _complete(self) -> UsageSourceSettings:
        if self.usage_query is None and self.fields_query is None:
            raise ValueError(f"usage source {self.name!r}: give a usage_query, a fields_query or both")
        if self.usage_query is not None and ":since" not in self.usage_query:
            raise ValueError(f"usage source {self.name!r}: usage_query must filter on :since")
        try:
            self.sqlalchemy_url()
        except (ValueError, ArgumentError, OSError) as exc:
            raise ValueError(f"usage source {self.name!r}: url: {_scrub(str(exc), self.url)}") from None
        return self

    def sqlalchemy_url(self) -> URL:
        """The URL with its secrets filled in. Never print it: print `masked_url`."""
        url = make_url(_expand_env(self.url.get_secret_value()))
        if self.password_env:
            if self.password_env not in os.environ:
                raise ValueError(f"password_env {self.password_env} is not set in the environment")
            url = url.set(password=os.environ[self.password_env])
        elif self.password_file:
            url = url.set(password=Path(self.password_file).read_text(encoding="utf-8").strip())
        return url

    @property
    def masked_url(self) -> str:
        try:
            return self.sqlalchemy_url().render_as_string(hide_password=True)
        except Exception:
            return "<invalid url>"

    @property
    def dialect(self) -> str:
        return self.sqlalchemy_url().get_backend_name()


def _scrub(message: str, url: SecretStr) -> str:
    """SQLAlchemy's URL errors may quote the URL; the message keeps everything else."""
    raw = url.get_secret_value()
    return message.replace(raw, "<url>") if raw else message


def parse_sources(values: Any) -> list[UsageSourceSettings]:
    """The validated list; names must be unique (they are what explain and errors print)."""
    sources = [
        v if isinstance(v, UsageSourceSettings) else UsageSourceSettings.model_validate(v)
        for v in values or []
    ]
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"usage_sources: duplicate name(s) {', '.join(duplicates)}")
    return sources
