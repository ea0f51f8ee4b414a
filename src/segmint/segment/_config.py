"""Shared base for segmentation configs: pydantic models loadable from and savable to YAML."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from segmint.errors import ConfigError
from segmint.util import parse_packaged_yaml, read_yaml_mapping, write_text_atomic


def load_packaged_yaml(name: str) -> dict[str, Any]:
    """Parse a YAML file shipped in ``segmint.segment`` (the editable default rule tables)."""
    text = resources.files("segmint.segment").joinpath(name).read_text(encoding="utf-8")
    return parse_packaged_yaml(text) or {}


class SegmentConfig(BaseModel):
    """Base for scheme configs: unknown keys are errors, YAML in and out with actionable messages."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Self:
        """Load the config from a YAML file; keys left out keep their defaults."""
        data = read_yaml_mapping(path, f"{cls.__name__} YAML")
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> Self:
        """Validate a plain mapping (e.g. one section of a combined config file)."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in errors
            )
            first = errors[0] if errors else {}
            raise ConfigError(
                f"{source}: invalid {cls.__name__}: {problems}",
                field=".".join(str(p) for p in first.get("loc", ())) or None,
                value=first.get("input") if first.get("loc") else None,
            ) from exc

    def to_yaml(self, path: str | Path | None = None) -> str:
        """Serialise to YAML; also write it (atomically) to ``path`` when given."""
        import yaml

        text = yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        if path is not None:
            write_text_atomic(path, text)
        return text
