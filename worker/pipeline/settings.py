"""Configuration: a YAML file, `OPPWORKER_`-prefixed environment variables and command-line flags;
flags over environment over file, everywhere (docs/configuration.md).

Everything a pass needs is here, typed, so a typo in a config file fails at start with the field
named, not halfway through a pass. CRM sections (`crm: {hubspot: {...}}`) are passed through to the
connector's own settings, which validate them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from connectors.sql.settings import UsageSourceSettings, parse_sources
from domain.money import currency_code
from domain.settings_values import list_setting
from worker.pipeline.settings_check import (
    ConfigurationError,
    check_crm_sections,
    env_over_file,
    plain_settings_error,
    plain_validation_error,
    register_model,
)

DEFAULT_OUTPUT_DIR = Path("oppworker-out")


class OwnerCapacity(BaseModel):
    """One owner's own caps (a part-time CSM, a team lead); a field left out keeps the default."""

    model_config = ConfigDict(extra="forbid")

    tasks_per_week: int | None = Field(default=None, ge=1)
    open_tasks: int | None = Field(default=None, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPPWORKER_", env_nested_delimiter="__", extra="forbid")

    output_dir: Path = DEFAULT_OUTPUT_DIR
    database_url: str | None = None  # default: SQLite in output_dir
    data_dir: Path | None = None  # file connector input; default: the bundled sample
    # NoDecode: a JSON list or a comma list, the one rule for list settings (domain.settings_values).
    playbook_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    include_builtin_playbooks: bool = True
    catalog: Path | None = None  # default: the bundled catalog
    max_new_offers_per_30_days: int = Field(default=2, ge=1)
    write_batch_size: int = Field(default=100, ge=1, le=100)
    # How long a writer's lease on its keys lasts (renewed before each CRM write call). A writer
    # that dies holds its keys this long before another may finish them.
    write_lease_seconds: float = Field(default=120, gt=0)
    # A CSM's attention (worker/pipeline/capacity.py, docs/attention.md): new tasks one owner gets
    # per week and tasks of ours one owner may have open; None lifts a cap. `owner_capacity`
    # overrides both per owner id. Tasks are due on `working_days` (0 = Monday).
    tasks_per_owner_per_week: int | None = Field(default=10, ge=1)
    open_tasks_per_owner: int | None = Field(default=25, ge=1)
    owner_capacity: dict[str, OwnerCapacity] = Field(default_factory=dict)
    working_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], min_length=1)
    # Accounts without a known owner go to this owner (or queue) id; unset, they keep waiting.
    fallback_owner_id: str | None = None
    # One conversation per account (issue #15 item 2): an account's offers of one pass share one
    # task, led by the strongest. False: a task per offer, as before (each its own unit of capacity).
    one_task_per_account: bool = True
    affinity_min_support: float = Field(default=0.02, gt=0, le=1)
    affinity_min_confidence: float = Field(default=0.3, gt=0, le=1)
    affinity_min_lift: float = Field(default=1.2, ge=0)
    # Money in one currency (docs/outcomes.md): without `report_currency` the report shows one total
    # per currency; with it, every amount is converted at `exchange_rates`, how many report-currency
    # units one unit of each other currency is worth (`{USD: 0.92}` for EUR), which the user supplies.
    report_currency: str | None = None
    exchange_rates: dict[str, Decimal] = Field(default_factory=dict)
    crm: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # SQL sources of usage and account fields, joined to any CRM's accounts (connectors/sql).
    usage_sources: list[UsageSourceSettings] = Field(default_factory=list)

    @field_validator("usage_sources")
    @classmethod
    def _unique_sources(cls, value: list[UsageSourceSettings]) -> list[UsageSourceSettings]:
        return parse_sources(value)

    @field_validator("tasks_per_owner_per_week", "open_tasks_per_owner", mode="before")
    @classmethod
    def _no_cap(cls, value: object) -> object:
        """`none` (or empty) lifts a cap, so an environment variable can say it too."""
        if isinstance(value, str) and value.strip().lower() in ("", "none", "null"):
            return None
        return value

    @field_validator("report_currency", mode="before")
    @classmethod
    def _report_currency(cls, value: object) -> object:
        return None if value in (None, "") else currency_code(value)

    @field_validator("exchange_rates", mode="before")
    @classmethod
    def _rates(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        return {currency_code(code): rate for code, rate in value.items()}

    @field_validator("exchange_rates")
    @classmethod
    def _positive_rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, rate in value.items():
            if not rate.is_finite() or rate <= 0:
                raise ValueError(f"the rate for {code} must be a number above 0, got {rate}")
        return value

    @model_validator(mode="after")
    def _rates_need_a_currency(self) -> Settings:
        if self.exchange_rates and self.report_currency is None:
            raise ValueError("exchange_rates need report_currency: the currency the rates convert into")
        return self

    @field_validator("working_days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(day not in range(7) for day in value):
            raise ValueError("working_days are weekday numbers 0 (Monday) to 6 (Sunday)")
        return sorted(set(value))

    @field_validator("playbook_dirs", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return list_setting(value)

    @property
    def ledger_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.output_dir / 'ledger.sqlite3').resolve()}"

    def connector_options(self, crm: str) -> dict[str, Any]:
        options = env_over_file(crm, self.crm.get(crm, {}))  # the environment wins over the file
        if crm == "files":
            options.setdefault("data_dir", self.data_dir)
            options.setdefault("output_dir", self.output_dir)
        if self.usage_sources:
            options["usage_sources"] = self.usage_sources  # build_connector wraps the connector
        return options

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments (the YAML file's values, CLI flags) are passed as init kwargs; the
        # environment overrides them, so a deployment can change one value without a new file.
        return env_settings, init_settings, dotenv_settings, file_secret_settings


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Flags (`overrides`) over environment over file, validated strictly: an unknown key, a
    misspelt CRM section or a bad value is a `ConfigurationError` naming each one (settings_check)."""
    values: dict[str, Any] = {}
    where = ""
    if config_file is not None:
        where = f"{config_file}: "
        try:
            loaded = yaml.safe_load(Path(config_file).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{config_file}: invalid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{config_file}: expected a mapping of settings")
        values.update(loaded)
    problems: list[str] = []
    sections = values.get("crm")
    if isinstance(sections, dict):
        try:
            check_crm_sections(sections)
        except ConfigurationError as exc:
            problems += exc.problems
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        problems = plain_validation_error(exc).problems + problems
    except SettingsError as exc:
        raise plain_settings_error(exc) from None
    if problems:
        raise ConfigurationError(f"{where}{problem}" for problem in problems)
    cli = {k: v for k, v in overrides.items() if v is not None}
    if not cli:
        return settings
    # Command-line flags beat the environment and the file: each is validated as an assignment to
    # this copy (validating a whole new Settings would read the environment again, and it would win).
    updated = settings.model_copy()
    for name, value in cli.items():
        try:
            Settings.__pydantic_validator__.validate_assignment(updated, name, value)
        except ValidationError as exc:
            raise plain_validation_error(exc, "option ") from None
    return updated


register_model(Settings)
