"""Reading a YAML configuration file into a pydantic model, with errors people can act on."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigurationError(ValueError):
    """A configuration file is missing or wrong; the message names the file, the key and the problem."""


def describe_errors(error: ValidationError) -> list[str]:
    """One line per problem: `key.path: what is wrong` (a cross-field rule names its own field first)."""
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return lines


def load_yaml_model(path: Path, model: type[M], overrides: dict | None = None) -> M:
    """Load `path` as `model`, raising ConfigurationError that names the file and each bad key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: expected a mapping of keys at the top level")
    data.update(overrides or {})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = "\n  ".join(describe_errors(exc))
        raise ConfigurationError(f"{path}: invalid configuration:\n  {details}") from None
