"""The job manifest: YAML to a validated, streaming Job; plans; the manifest's JSON Schema.

Everything is checked before a single request: structure, types, environment variables, the
catalog's rules for every model, every prompt. Problems carry file:line:column.
"""

from runner.manifest.job import Job, item_id
from runner.manifest.loader import load_job
from runner.manifest.plan import ModelPlan, Plan, Tally, plan_job
from runner.manifest.problems import ManifestError, Problem
from runner.manifest.schema import json_schema

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
