"""The training form, derived from :class:`TrainConfig`: its fields, labels, limits and
defaults come from the config's declaration, and its strings are parsed by the same model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from food_vision.config import TrainConfig, bounds, field_errors, is_advanced, value_type
from food_vision.models import ARCHITECTURES

CHOICES = ("dataset", "architecture")  # offered as lists of what exists here
SWEEP_CHOICES = ("also_architecture", "also_learning_rate")  # "try several", beside the config


class FormFields(Protocol):
    """A submitted form: a multi-dict (Starlette's and Werkzeug's both are one)."""

    def __contains__(self, key: object, /) -> bool: ...
    def __getitem__(self, key: str, /) -> Any: ...
    def getlist(self, key: str, /) -> list[Any]: ...


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    help: str
    kind: str  # "choice", "checkbox", "integer", "decimal"
    default: Any
    optional: bool
    limits: dict[str, float]
    advanced: bool = False  # shown under "More options"

    @property
    def min(self) -> float | None:
        return self.limits.get("ge", self.limits.get("gt"))

    @property
    def max(self) -> float | None:
        return self.limits.get("le", self.limits.get("lt"))


def _kind(name: str, field: FieldInfo) -> str:
    if name in CHOICES:
        return "choice"
    kind = value_type(field)
    return {bool: "checkbox", int: "integer", float: "decimal"}.get(kind, "text")


FORM_FIELDS: tuple[FormField, ...] = tuple(
    FormField(
        name=name,
        label=field.title or name,
        help=field.description or "",
        kind=_kind(name, field),
        default=field.default,
        optional=field.default is None,
        limits=bounds(field),
        advanced=is_advanced(field),
    )
    for name, field in TrainConfig.model_fields.items()
)


# Offered by a finished run's "Train more epochs" control instead, beside its model.
ELSEWHERE = ("parent",)


def offered_fields(machine_processes: int) -> tuple[FormField, ...]:
    """The fields the page's form offers: "processes" only where the machine can run more
    than one training process (several GPUs, or several CPU cores)."""
    return tuple(
        f
        for f in FORM_FIELDS
        if f.name not in ELSEWHERE and (f.name != "processes" or machine_processes > 1)
    )


def default_values() -> dict[str, Any]:
    """What a fresh form shows; an unset pretrained choice shows ticked (weights when any)."""
    values = {field.name: field.default for field in FORM_FIELDS}
    values["pretrained"] = True
    values = {name: "" if value is None else value for name, value in values.items()}
    return {**values, "also_architecture": [], "also_learning_rate": ""}


def submitted_values(form: FormFields) -> dict[str, Any]:
    """The form as typed, to show again beside its errors; unticked boxes are absent."""
    values = default_values()
    for field in FORM_FIELDS:
        if field.kind == "checkbox":
            values[field.name] = field.name in form
        elif field.name in form:
            values[field.name] = str(form[field.name])
    values["also_architecture"] = form.getlist("also_architecture")
    values["also_learning_rate"] = " ".join(form.getlist("also_learning_rate"))
    return values


def parse_train_form(form: Mapping[str, Any]) -> tuple[TrainConfig | None, dict[str, str]]:
    """A config from the form's strings, or the message for every field that is wrong."""
    data: dict[str, Any] = {}
    for field in FORM_FIELDS:
        raw = form.get(field.name)
        if field.kind == "checkbox":
            data[field.name] = raw in ("on", "true", "1")
        elif raw is not None and not (field.optional and str(raw).strip() == ""):
            data[field.name] = str(raw).strip()
    arch = ARCHITECTURES.get(str(data.get("architecture", "")))
    # The box reads "when the model has them": ticked for a model without weights means none.
    data["pretrained"] = bool(data.get("pretrained") and arch is not None and arch.has_pretrained)
    try:
        return TrainConfig.model_validate(data), {}
    except ValidationError as exc:
        return None, field_errors(exc)


def parse_sweep_choices(
    form: FormFields, config: TrainConfig
) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, str]]:
    """The form's "try several" choices as a sweep: its base config and the values to vary
    (empty when the form asks for one run), or the message for each choice that is wrong.

    Ticked models repeat one name in the form. The form's own model and
    learning rate always run; pretrained weights, when ticked, are used by the models that
    have them."""
    models = [config.architecture] + [
        name for name in form.getlist("also_architecture") if name != config.architecture
    ]
    unknown = [name for name in models if name not in ARCHITECTURES]
    rates, errors = [config.learning_rate], {}
    for text in " ".join(form.getlist("also_learning_rate")).replace(",", " ").split():
        try:
            rates.append(float(text))
        except ValueError:
            errors["also_learning_rate"] = f"{text[:20]!r} is not a number: write e.g. 0.001, 0.01"
    if unknown:
        errors["also_architecture"] = f"unknown model {unknown[0][:40]!r}"
    vary = {
        "architecture": list(dict.fromkeys(models)),
        "learning_rate": list(dict.fromkeys(rates)),
    }
    if errors or all(len(values) == 1 for values in vary.values()):
        return {}, {}, errors
    ticked = any(value in ("on", "true", "1") for value in form.getlist("pretrained"))
    base = {**config.to_dict(), "pretrained": None if ticked else False}
    return base, {name: values for name, values in vary.items() if len(values) > 1}, {}
