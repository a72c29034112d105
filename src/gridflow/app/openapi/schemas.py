"""The document's component schemas: link figures, errors, demands, queues, work items,
deployments, problems and processes."""

from __future__ import annotations

from typing import Any

from gridflow.app.openapi.common import _object
from gridflow.demands import (
    AREAS,
    CATEGORIES,
    CHANNELS,
    CUSTOMER_CATEGORIES,
    EXTRA_PROCESSES,
    PRIORITIES,
    SUPPLIES,
    VOLTAGES,
)


def _link_figures_schema() -> dict[str, Any]:
    from gridflow.audit import MEASURES, duration_keys

    number = {"type": "number", "nullable": True}
    properties: dict[str, Any] = {
        "process_id": {"type": "string"},
        "process_name": {"type": "string"},
        "version": {"type": "integer"},
        "definition_id": {"type": "integer"},
        "element_id": {"type": "string"},
        "link_name": {"type": "string"},
        "count": {"type": "integer"},
        "within_standard_share": number,
        "breaches": {"type": "integer"},
        "rework_instances": {"type": "integer"},
        "rework_executions": {"type": "integer"},
        "standard_target": {"type": "string", "nullable": True},
        "standard_basis": {"type": "string", "nullable": True},
        "standard_s": number,
    }
    properties.update({key: number for key in duration_keys(MEASURES)})
    return {"type": "object", "properties": properties}


def _schemas() -> dict[str, Any]:
    return {
        "LinkFigures": _link_figures_schema(),
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "text": {
                            "type": "string",
                            "description": "the message in the request's language "
                            "(Accept-Language; Simplified Chinese by default)",
                        },
                        "field_texts": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "description": "`fields` in the request's language (422 only)",
                        },
                        "fields": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "description": "field id → what is wrong with it (422 only)",
                        },
                        "messages": {
                            "type": "object",
                            "additionalProperties": {
                                "type": "object",
                                "properties": {
                                    "en": {"type": "string"},
                                    "zh_Hans": {"type": "string"},
                                },
                            },
                            "description": "a refused demand: field id → the message in "
                            "English and Simplified Chinese",
                        },
                    },
                }
            },
        },
        "DemandInput": {
            "type": "object",
            "required": ["customer_name", "customer_category", "channel", "category", "address"],
            "description": "Also checked: a phone that reaches the customer (a mobile "
            "1[3-9]xxxxxxxxx or a landline with its area code such as 010-12345678; not needed "
            "for channel monitoring) and, for a connection, a capacity above zero within the "
            "voltage's range (low voltage up to 100 kW, small and micro enterprises up to 160 "
            "kW in cities; high voltage above that). A refusal is 422 with each field's message "
            "in `fields` (English) and `messages` (English and Simplified Chinese).",
            "properties": {
                "customer_name": {"type": "string", "maxLength": 200, "pattern": "\\S"},
                "customer_category": {"type": "string", "enum": list(CUSTOMER_CATEGORIES)},
                "channel": {"type": "string", "enum": list(CHANNELS)},
                "category": {"type": "string", "enum": list(CATEGORIES)},
                "address": {"type": "string", "maxLength": 500, "pattern": "\\S"},
                "phone": {"type": "string", "maxLength": 40},
                "priority": {"type": "integer", "enum": list(PRIORITIES), "default": 1},
                "voltage": {"type": "string", "enum": list(VOLTAGES), "default": "low"},
                "capacity_kw": {"type": "number", "minimum": 0, "maximum": 1e7, "default": 0},
                "supply": {"type": "string", "enum": list(SUPPLIES), "default": "single"},
                "area": {"type": "string", "enum": list(AREAS), "default": "urban"},
                "feeder": {"type": "string"},
                "also": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(EXTRA_PROCESSES)},
                    "description": "further processes the same demand starts",
                },
            },
        },
        "Accepted": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "reference": {"type": "string"},
                "instances": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "instance_id": {"type": "integer"},
                            "process_id": {"type": "string"},
                            "version": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "QueueRow": {
            "type": "object",
            "required": ["id", "version", "state"],
            "properties": {
                "id": {"type": "integer"},
                "version": {"type": "integer"},
                "state": {"type": "string", "enum": ["ready", "claimed"]},
                "customer": {"type": "string"},
                "process_id": {"type": "string"},
                "link_id": {"type": "string"},
                "link_name": {"type": "string"},
                "role": {"type": "string"},
                "department": {"type": "string"},
                "due_at": {"type": "string", "format": "date-time"},
                "overdue": {"type": "boolean"},
                "waited_s": {"type": "number"},
                "time_left_s": {"type": "number"},
            },
        },
        "WorkItem": {
            "type": "object",
            "required": ["id", "version", "state", "form"],
            "properties": {
                "id": {"type": "integer"},
                "version": {"type": "integer", "description": "send it back when acting"},
                "state": {
                    "type": "string",
                    "enum": ["ready", "claimed", "completed", "cancelled"],
                },
                "link_id": {"type": "string"},
                "link_name": {"type": "string"},
                "role": {"type": "string"},
                "assignee": {"type": "string", "nullable": True},
                "due_at": {"type": "string", "format": "date-time"},
                "form": {
                    "type": "object",
                    "properties": {
                        "fields": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "label": {"type": "string"},
                                    "type": {
                                        "type": "string",
                                        "enum": [
                                            "string",
                                            "long",
                                            "double",
                                            "boolean",
                                            "date",
                                            "enum",
                                        ],
                                    },
                                    "required": {"type": "boolean"},
                                    "options": {"type": "array", "items": {"type": "object"}},
                                },
                            },
                        }
                    },
                },
            },
        },
        "Timeline": {"type": "object", "description": "instances with every link and its times"},
        "Deployment": _object(
            ["process_id", "version", "definition_id", "created", "restores_version"],
            process_id={"type": "string"},
            version={"type": "integer"},
            definition_id={"type": "integer"},
            created={
                "type": "boolean",
                "description": "false: the content is the newest version's (nothing changed)",
            },
            restores_version={
                "type": "integer",
                "nullable": True,
                "description": "a rollback: the older version whose content this new version "
                "repeats (new demands start on it; running instances keep their version)",
            },
        ),
        "DecisionDeployments": _object(
            ["decisions"],
            decisions={
                "type": "array",
                "items": _object(
                    ["decision_id", "version", "created"],
                    decision_id={"type": "string"},
                    version={"type": "integer"},
                    created={"type": "boolean"},
                ),
            },
        ),
        "Problems": {
            "type": "object",
            "required": ["error", "problems"],
            "properties": {
                "error": {"type": "object"},
                "problems": {
                    "type": "array",
                    "items": _object(
                        ["element_id", "line", "message"],
                        element_id={"type": "string", "nullable": True},
                        line={"type": "integer", "nullable": True},
                        message={"type": "string"},
                    ),
                },
            },
        },
        "Processes": {
            "type": "object",
            "description": "every process with its versions (who, when, content hash, "
            "running and finished instances), newest version first; every DMN decision "
            "with its versions",
            "properties": {
                "processes": {"type": "array", "items": {"type": "object"}},
                "decisions": {"type": "array", "items": {"type": "object"}},
            },
        },
    }
