"""What every `cig` sub-app (`cig review`, `cig action`, `cig learning`) shares: `--json`, the one clock
(cli.main.now, which tests may set), and a form refused in words naming each field."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError

from config.loading import describe_errors

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def now() -> datetime:
    """The moment, through `cig`'s one clock (cli.main.now), which tests may set."""
    from cli import main

    return main.now()


def emit(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def form(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """The form, or ValueError naming each refused field (`cig` prints it, exit status 1)."""
    try:
        return model.model_validate({k: v for k, v in data.items() if v is not None}, context={"today": now().date()})
    except ValidationError as refused:
        raise ValueError("the form was refused:\n  " + "\n  ".join(describe_errors(refused))) from None
