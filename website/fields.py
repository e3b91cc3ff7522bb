"""A casework.forms model as the fields of a web page, and a posted page read back as the model's input.

The chairs' pages use the same pydantic models as the Prefect UI's Resume forms and `cig` (one model
per form, three doors): the fields, their order, their descriptions (the labels), their choices (in
words, casework.model.CHOICE_LABELS) and every rule come from the model; nothing is defined twice.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic import BaseModel, ValidationError

from casework.model import CHOICE_LABELS

LONG_TEXT = 300  # a text field longer than a line (casework.forms.Text) is a textarea


@dataclass(frozen=True)
class PageField:
    """One field as the page shows it; `name` is the model's (dotted inside a group), `id` the page's."""

    name: str
    label: str
    kind: Literal["radios", "yesno", "lines", "textarea", "text", "group"]
    optional: bool
    options: tuple[tuple[str, str], ...] = ()
    children: tuple["PageField", ...] = field(default=())

    @property
    def id(self) -> str:
        return self.name.replace(".", "-")


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The annotation without `| None`, and whether None was allowed."""
    if get_origin(annotation) in (Union, getattr(__import__("types"), "UnionType")):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(get_args(annotation))
    return annotation, False


def _choices(annotation: Any, labels: Mapping[str, str]) -> tuple[tuple[str, str], ...] | None:
    if get_origin(annotation) is Literal:
        values = [str(v) for v in get_args(annotation)]
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values = [str(member.value) for member in annotation]
    else:
        return None
    words = {value: labels.get(value) or CHOICE_LABELS.get(value, value) for value in values}
    return tuple((value, words[value][:1].upper() + words[value][1:]) for value in values)


def page_fields(model: type[BaseModel], *, labels: Mapping[str, str] | None = None, prefix: str = "",
                leave_out: frozenset[str] = frozenset()) -> tuple[PageField, ...]:
    """The model's fields in its order, as the page shows them; `labels` words coded choices (a regime's
    review names), `leave_out` names fields the page sets itself."""
    result = []
    for name, info in model.model_fields.items():
        if name in leave_out:
            continue
        annotation, nullable = _unwrap(info.annotation)
        optional = nullable or not info.is_required()
        label = info.description or name.replace("_", " ").capitalize()
        full = f"{prefix}{name}"
        if (options := _choices(annotation, labels or {})) is not None:
            result.append(PageField(full, label, "radios", optional, options))
        elif annotation is bool:
            result.append(PageField(full, label, "yesno", optional, (("true", "Yes"), ("false", "No"))))
        elif get_origin(annotation) is list:
            result.append(PageField(full, label, "lines", True))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            result.append(PageField(full, label, "group", optional,
                                    children=page_fields(annotation, labels=labels, prefix=f"{full}.")))
        else:
            longest = min((m.max_length for m in info.metadata if isinstance(m, MaxLen)), default=None)
            if longest is None:
                longest = next((m.max_length for a in get_args(annotation)[1:] for m in getattr(a, "metadata", [])
                                if isinstance(m, MaxLen)), None)
            result.append(PageField(full, label, "textarea" if (longest or 0) > LONG_TEXT else "text", optional))
    return tuple(result)


def posted_input(fields: tuple[PageField, ...], posted: Mapping[str, str]) -> dict[str, Any]:
    """What was posted, as the model's input: blank fields left out (the model's defaults and rules
    apply), lines split, yes/no as booleans, a group given only when one of its fields is filled in."""
    data: dict[str, Any] = {}
    for item in fields:
        key = item.name.rsplit(".", 1)[-1]
        if item.kind == "group":
            inner = posted_input(item.children, posted)
            if inner:
                data[key] = inner
            continue
        value = (posted.get(item.name) or "").strip()
        if not value:
            continue
        if item.kind == "lines":
            data[key] = [line.strip() for line in value.splitlines() if line.strip()]
        elif item.kind == "yesno":
            data[key] = value == "true"
        else:
            data[key] = value
    return data


def all_fields(fields: tuple[PageField, ...]) -> list[PageField]:
    """Every field, a group's own fields after it, in page order."""
    flat = []
    for item in fields:
        flat.append(item)
        flat.extend(all_fields(item.children))
    return flat


def field_errors(fields: tuple[PageField, ...], problems: list[tuple[str, str]]) -> dict[str, str]:
    """Problems (a dotted field name or "", a message) as messages by page field id, each naming its field
    in words; a problem of no field goes to the first."""
    by_name = {item.name: item for item in all_fields(fields)}
    errors: dict[str, str] = {}
    for name, message in problems:
        item = by_name.get(name) or by_name.get(name.split(".", 1)[0]) or fields[0]
        label = item.label.rstrip(".")
        errors.setdefault(item.id, f"{label}: {message[0].lower()}{message[1:]}" if message else label)
    return errors


def validation_problems(invalid: ValidationError) -> list[tuple[str, str]]:
    """A pydantic refusal as (dotted field name, message); a cross-field rule names its field first."""
    problems = []
    for problem in invalid.errors():
        loc = [str(part) for part in problem["loc"] if not isinstance(part, int)]
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            message = "this is required"
        if not loc and ": " in message.split(" ", 1)[0] + " ":
            name, message = message.split(": ", 1)
            loc = [name]
        problems.append((".".join(loc), message))
    return problems


def refusal_problem(refused: Exception) -> tuple[str, str]:
    """A refusal from casework ("field: why") as (field, why)."""
    text = str(refused)
    head, _, rest = text.partition(": ")
    if rest and " " not in head:
        return head, rest
    return "", text
