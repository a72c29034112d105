"""A link's form: the fields a clerk fills in, as Camunda's `camunda:formData` declares them,
and server-side validation that turns submitted values into typed task data."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from gridflow.errors import FormError, GridflowError
from gridflow.texts import _


class FieldValueError(ValueError):
    """A value a field refuses, as a catalogue text with its values (translated on the page)."""

    def __init__(self, template: str, **params: object):
        self.template = template
        self.params = params
        super().__init__(template % params if params else template)


FIELD_TYPES = ("string", "long", "double", "boolean", "date", "enum")
_TRUE = {"true", "on", "yes", "1"}
_FALSE = {"false", "off", "no", "0"}
MAX_STRING = 10_000


@dataclass(frozen=True)
class FormField:
    id: str
    label: str
    type: str
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    default: str | None = None
    min: float | None = None
    max: float | None = None
    minlength: int | None = None
    maxlength: int | None = None
    readonly: bool = False

    def option_ids(self) -> list[str]:
        return [option_id for option_id, _ in self.options]

    def example(self) -> object:
        """A valid value for this field (API documentation, simulations, tests)."""
        low = self.min if self.min is not None else 1
        return {
            "string": "x" * (self.minlength or 2),
            "long": int(low),
            "double": float(low),
            "boolean": True,
            "date": "2026-01-05",
            "enum": self.option_ids()[0] if self.options else "",
        }[self.type]

    def coerce(self, raw: object) -> object:
        """The typed value of one submitted value; raises ValueError with a clerk-readable text."""
        if self.type == "boolean":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise FieldValueError(_("must be yes or no"))
        if self.type == "long":
            if isinstance(raw, bool):
                raise FieldValueError(_("must be a whole number"))
            if isinstance(raw, int):
                value: object = raw
            elif isinstance(raw, float) and raw.is_integer():
                value = int(raw)
            else:
                try:
                    value = int(str(raw).strip())
                except ValueError:
                    raise FieldValueError(_("must be a whole number")) from None
            return self._in_range(value)
        if self.type == "double":
            if isinstance(raw, bool):
                raise FieldValueError(_("must be a number"))
            try:
                number = float(raw) if isinstance(raw, int | float) else float(str(raw).strip())
            except (ValueError, OverflowError):
                raise FieldValueError(_("must be a number")) from None
            if not math.isfinite(number):
                raise FieldValueError(_("must be a finite number"))
            return self._in_range(number)
        if self.type == "date":
            try:
                return date.fromisoformat(str(raw).strip()).isoformat()
            except ValueError:
                raise FieldValueError(_("must be a date (YYYY-MM-DD)")) from None
        if self.type == "enum":
            text = str(raw)
            if text not in self.option_ids():
                raise FieldValueError(
                    _("must be one of: %(choices)s"), choices=", ".join(self.option_ids())
                )
            return text
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise FieldValueError(_("must be text"))
        text = str(raw)
        if self.minlength is not None and len(text) < self.minlength:
            raise FieldValueError(_("must be at least %(n)s characters"), n=self.minlength)
        limit = min(self.maxlength or MAX_STRING, MAX_STRING)
        if len(text) > limit:
            raise FieldValueError(_("must be at most %(n)s characters"), n=limit)
        return text

    def _in_range(self, value: object) -> object:
        assert isinstance(value, int | float)
        if self.min is not None and value < self.min:
            raise FieldValueError(_("must be at least %(n)s"), n=_number(self.min))
        if self.max is not None and value > self.max:
            raise FieldValueError(_("must be at most %(n)s"), n=_number(self.max))
        return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Form:
    fields: tuple[FormField, ...] = field(default=())

    def field(self, field_id: str) -> FormField | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def complete_with_examples(self, given: Mapping[str, object]) -> dict[str, object]:
        """The given values plus an example value for every required field not given."""
        values = dict(given)
        for form_field in self.fields:
            if form_field.required and form_field.id not in values:
                values[form_field.id] = form_field.example()
        return values

    def validate(self, submitted: Mapping[str, object]) -> dict[str, object]:
        """Typed task data for the submitted values, or FormError naming every bad field.

        Unknown field ids are refused (a typo must not silently drop data); an empty value for an
        optional field is left out; read-only fields cannot be set. (A web page posts nothing for
        an unticked checkbox: the page, which knows its checkboxes, sends "false" for them.)
        """
        refusals: dict[str, GridflowError] = {}
        known = {f.id for f in self.fields}
        for key in submitted:
            if key not in known:
                refusals[key] = GridflowError(_("is not a field of this form"))
        values: dict[str, object] = {}
        for form_field in self.fields:
            raw = submitted.get(form_field.id)
            empty = raw is None or (isinstance(raw, str) and raw.strip() == "")
            if form_field.readonly:
                if not empty:
                    refusals[form_field.id] = GridflowError(_("is read-only"))
                continue
            if empty:
                if form_field.required:
                    refusals[form_field.id] = GridflowError(_("is required"))
                continue
            try:
                values[form_field.id] = form_field.coerce(raw)
            except FieldValueError as exc:
                refusals[form_field.id] = GridflowError(exc.template, **exc.params)
            except ValueError as exc:
                refusals[form_field.id] = GridflowError(str(exc))
        if refusals:
            raise FormError({k: str(v) for k, v in refusals.items()}, refusals)
        return values
