"""User task rules: a user task is a link when its role, form, service standard, skills and
equipment, site visit and field work all check; its form fields are plain names of known
types with numeric constraints."""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from gridflow.bpmn import CAMUNDA_NS
from gridflow.definitions import steps as step_rules
from gridflow.definitions.describe import FIELD_WORK_KINDS, Link, parse_equipment, parse_skills
from gridflow.definitions.rules.common import line as _line
from gridflow.definitions.rules.linter.base import NS, LinterBase
from gridflow.forms import FIELD_TYPES, Form, FormField

SITE_VISITS = ("survey", "installation", "repair")


class UserTaskRules(LinterBase):
    """A user task, its form and its needs, described as a `Link`."""

    def _check_user_task(self, element: etree._Element) -> None:
        element_id = element.get("id", "")
        name = element.get("name") or element_id
        lane = self.lane_of.get(element_id)
        found, role_id, role_variable = step_rules.role_of_task(self, element, lane)
        role = self.roles[role_id] if role_id is not None else None
        form = self._form_of(element)
        standard = self._standard_of(element, required=True)
        assignee = (element.get(f"{{{CAMUNDA_NS}}}assignee") or "").strip() or None
        assignee_reference = step_rules.VARIABLE_REFERENCE.match(assignee or "")
        props = self._properties(element)
        needs = self._needs_of(element, props)
        field_work = (props.get("field_work") or "").strip() or None
        if field_work is not None and field_work not in FIELD_WORK_KINDS:
            self.problem(
                element,
                f"field_work {field_work!r} is not one of {', '.join(FIELD_WORK_KINDS)} "
                "(repair: arrive, restore supply, complete; visit: arrive, complete)",
            )
            field_work = None
        if found and standard is not None and form is not None and needs is not None:
            self.links[element_id] = Link(
                element_id=element_id,
                name=name,
                lane=lane or (role.name if role is not None else ""),
                role=role,
                role_variable=role_variable,
                assignee=None if assignee_reference else assignee,
                assignee_variable=assignee_reference.group(1) if assignee_reference else None,
                multi_instance=element.find("bpmn:multiInstanceLoopCharacteristics", NS)
                is not None,
                form=form,
                standard=standard,
                customer_facing=props.get("customer_facing", "").lower() == "true",
                line=_line(element),
                skills=needs[0],
                equipment=needs[1],
                site_visit=self._site_visit_of(element, props),
                field_work=field_work,
            )

    def _site_visit_of(self, element: etree._Element, props: Mapping[str, str]) -> str | None:
        """The `site_visit` property: survey, installation or repair (a bookable visit)."""
        value = props.get("site_visit", "").strip()
        if not value:
            return None
        if value not in SITE_VISITS:
            self.problem(
                element,
                f"site_visit {value!r} is not one of: {', '.join(SITE_VISITS)}",
            )
            return None
        return value

    def _needs_of(
        self, element: etree._Element, props: Mapping[str, str]
    ) -> tuple[tuple[tuple[str, int], ...], tuple[str, ...]] | None:
        """The `skills` ("repair:2,live_line:1") and `equipment` ("vehicle") properties."""
        try:
            return parse_skills(props.get("skills", "")), parse_equipment(
                props.get("equipment", "")
            )
        except ValueError as exc:
            self.problem(element, str(exc))
            return None

    def _form_of(self, element: etree._Element) -> Form | None:
        fields: list[FormField] = []
        seen: set[str] = set()
        ok = True
        for xml_field in element.findall(
            "bpmn:extensionElements/camunda:formData/camunda:formField", NS
        ):
            field_id = xml_field.get("id", "")
            field_type = xml_field.get("type", "")
            where = f"form field {field_id!r}"
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field_id) or "__" in field_id:
                self.problem(element, f"{where}: the id must be a plain name (letters, digits, _)")
                ok = False
                continue
            if field_id in seen:
                self.problem(element, f"{where} appears twice")
                ok = False
            seen.add(field_id)
            if field_type not in FIELD_TYPES:
                self.problem(
                    element, f"{where} has type {field_type!r}; expected one of {FIELD_TYPES}"
                )
                ok = False
                continue
            options = tuple(
                (value.get("id", ""), value.get("name") or value.get("id") or "")
                for value in xml_field.findall("camunda:value", NS)
            )
            if field_type == "enum" and not options:
                self.problem(element, f"{where} is an enum without values")
                ok = False
            constraints = {
                c.get("name", ""): c.get("config")
                for c in xml_field.findall("camunda:validation/camunda:constraint", NS)
            }
            numbers: dict[str, float | None] = {}
            for key in ("min", "max", "minlength", "maxlength"):
                raw = constraints.get(key)
                try:
                    numbers[key] = float(raw) if raw not in (None, "") else None
                except ValueError:
                    self.problem(element, f"{where}: constraint {key} = {raw!r} is not a number")
                    ok = False
                    numbers[key] = None
            minlength, maxlength = numbers["minlength"], numbers["maxlength"]
            fields.append(
                FormField(
                    id=field_id,
                    label=xml_field.get("label") or field_id,
                    type=field_type,
                    required="required" in constraints,
                    options=options,
                    default=xml_field.get("defaultValue"),
                    min=numbers["min"],
                    max=numbers["max"],
                    minlength=int(minlength) if minlength is not None else None,
                    maxlength=int(maxlength) if maxlength is not None else None,
                    readonly="readonly" in constraints,
                )
            )
        return Form(tuple(fields)) if ok else None
