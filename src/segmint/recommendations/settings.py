"""What to recommend and how: the settings (``RecommendConfig``), the recent window (``Window``) and the
signals a blend can use. Defaults live here."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from segmint.errors import ConfigError, Fix
from segmint.recommendations import signals as sig

SIGNALS: dict[str, tuple[str, ...]] = {
    "own": (*sig.OWN_FEATURES, "f_own_irep", "f_own_trend"),
    "copurchase": ("f_cf",),
    "segment": ("f_seg",),
    "popular": ("f_pop", "f_trend", "f_newp"),
}
STORY_SCHEMES = ("value",)  # segments of the latest story period (see segments_as_of)
MIN_FIT_CUSTOMERS = 30  # fewer customers on the inner split -> the default blend
_UNITS = {"D": "day", "W": "week", "M": "month", "Y": "year"}


@dataclass(frozen=True)
class Window:
    """A length of time such as 2 months ('2M'), 8 weeks ('8W'), 60 days ('60D') or 1 year ('1Y')."""

    count: int
    unit: str  # D, W, M or Y

    @classmethod
    def parse(cls, text: str | Window) -> Window:
        """Read '2M', '8W', '60D', '1Y' (case-insensitive, spaces allowed)."""
        if isinstance(text, Window):
            return text
        match = re.fullmatch(r"\s*(\d+)\s*([dwmyDWMY])\s*", str(text))
        if not match or int(match.group(1)) == 0:
            raise ConfigError(
                f"window {text!r} is not a length of time; write a number and a unit: "
                "60D (days), 8W (weeks), 2M (months) or 1Y (year)",
                field="window", value=text, fix=Fix(option="window", example="2M"),
            )
        return cls(int(match.group(1)), match.group(2).upper())

    def start(self, end: dt.date) -> dt.date:
        """The first day of the window that ends the day before ``end``."""
        if self.unit == "D":
            return end - dt.timedelta(days=self.count)
        if self.unit == "W":
            return end - dt.timedelta(weeks=self.count)
        months = self.count * (12 if self.unit == "Y" else 1)
        index = end.year * 12 + end.month - 1 - months
        year, month = divmod(index, 12)
        last_day = (dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1) - dt.timedelta(days=1)).day
        return dt.date(year, month + 1, min(end.day, last_day))

    @property
    def label(self) -> str:
        """'2 months', '1 week', ..."""
        return f"{self.count} {_UNITS[self.unit]}{'s' if self.count != 1 else ''}"

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


class RecommendConfig(BaseModel):
    """What to recommend and how (defaults live here; loadable from YAML like every config)."""

    model_config = ConfigDict(extra="forbid")

    top: int = Field(10, ge=1, le=1000)  # products per customer
    window: str = "2M"  # the recent window of favourites and of the inner split
    scheme: str = "rfm"  # segments whose favourites are a signal and a table
    new_only: bool = False  # leave out what the customer already bought
    signals: tuple[str, ...] = ("own", "copurchase", "segment", "popular")
    neighbours: int = Field(20, ge=1)  # co-purchase neighbours kept per product
    per_customer: int = Field(20, ge=1)  # a customer's products used for co-purchase
    own_limit: int = Field(50, ge=1)  # own products considered per customer
    popular_limit: int = Field(20, ge=1)  # segment / overall favourites considered per customer
    copurchase_limit: int = Field(30, ge=1)  # co-purchase candidates per customer
    fit_customers: int = Field(4000, ge=MIN_FIT_CUSTOMERS)  # customers sampled to learn the blend
    favourites: int = Field(20, ge=1)  # products per segment in segment_products
    min_buyers: int = Field(3, ge=1)  # buyers a product needs in a segment to be ranked by lift
    single_view_products: int = Field(20, ge=1, le=200)  # product (category) columns of the single view
    single_view_values: Literal["units", "spend"] = "units"
    # items (product code or name, any case) to treat as products whatever non_merchandise.yaml says,
    # and items to treat as non-merchandise (postage, fees, ...: kept for sales, left out of product analyses)
    treat_as_products: tuple[str, ...] = ()
    treat_as_services: tuple[str, ...] = ()

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        return str(Window.parse(value))

    @field_validator("scheme")
    @classmethod
    def _scheme(cls, value: str) -> str:
        value = "value" if value == "story" else value
        if value not in segment_schemes():
            raise ValueError(f"unknown scheme {value!r}; choose one of {', '.join(segment_schemes())}")
        return value

    @field_validator("treat_as_products", "treat_as_services", mode="before")
    @classmethod
    def _items(cls, value: Any) -> Any:
        if value is None:
            return ()
        return (value,) if isinstance(value, str) else value

    @field_validator("signals")
    @classmethod
    def _signals(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in value if s not in SIGNALS]
        if unknown or not value:
            raise ValueError(f"signals {list(value)}: choose from {', '.join(SIGNALS)}")
        return tuple(value)

    @classmethod
    def build(cls, config: RecommendConfig | dict | None = None, **overrides: Any) -> RecommendConfig:
        """A config from another config or a dict, with keyword overrides (None = keep)."""
        base = config.model_dump() if isinstance(config, RecommendConfig) else dict(config or {})
        base.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(base)
        except ValidationError as exc:  # a plain message naming the setting, its value and a working one
            errors = exc.errors(include_url=False)
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'settings'} = {e.get('input')!r}: {e['msg'].removeprefix('Value error, ')}"
                for e in errors
            )
            name = ".".join(map(str, errors[0]["loc"])) if errors else ""
            known = cls.model_fields.get(name)
            raise ConfigError(
                f"invalid recommendation settings: {problems}", field=name or "config",
                value=errors[0].get("input") if errors else None,
                fix=Fix(option=name, example=known.default) if known is not None and known.default is not None
                else Fix(option="config", example={"top": 10, "window": "2M", "scheme": "rfm"}),
            ) from exc


def segment_schemes() -> tuple[str, ...]:
    """Schemes whose segments recommendations can use: every registered scheme, and story value."""
    from segmint.segment import scheme_names

    return (*scheme_names(), *STORY_SCHEMES)
