"""The job manifest: YAML to a validated, streaming Job; plans; the manifest's JSON Schema.

Everything is checked before a single request: structure, types, environment variables, the
catalog's rules for every model, every prompt. Problems carry file:line:column.
Planning loads on first use (``runner run`` never plans), and the JSON Schema with pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from runner.manifest.job import Job, item_id
from runner.manifest.loader import load_job
from runner.manifest.problems import ManifestError, Problem

if TYPE_CHECKING:
    from runner.manifest.plan import ModelPlan, Plan, Tally, plan_job

__all__ = [
    "Job",
    "ManifestError",
    "ModelPlan",
    "Plan",
    "Problem",
    "Tally",
    "item_id",
    "json_schema",
    "load_job",
    "plan_job",
]
_PLANNING = frozenset({"ModelPlan", "Plan", "Tally", "plan_job"})


def __getattr__(name: str) -> Any:
    if name in _PLANNING:
        return getattr(importlib.import_module("runner.manifest.plan"), name)
    raise AttributeError(f"module 'runner.manifest' has no attribute {name!r}")


def json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (for `runner schema` and yaml-language-server)."""
    from runner.manifest.schema import json_schema as build  # pydantic: only `schema` pays for it

    return build()
