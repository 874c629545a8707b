"""The JSON Schema of summary.json, shipped in the package (siting/schema/summary.schema.json)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["summary_schema", "validate_summary"]


@cache
def summary_schema() -> dict[str, Any]:
    """The schema as a dict (JSON Schema draft 2020-12)."""
    text = resources.files("siting").joinpath("schema/summary.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_summary(facts: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when a summary does not follow the schema."""
    import jsonschema

    jsonschema.Draft202012Validator(summary_schema()).validate(facts)
