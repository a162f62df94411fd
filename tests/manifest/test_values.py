"""values.py reads a subset of what schema.py accepts, to the same result, without pydantic."""

from __future__ import annotations

import copy
import dataclasses
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from runner.manifest import schema, values

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]
ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 2.5, 1.0, 10**30, math.inf, math.nan, "", "x", "5", "sim",
    [], ["x"], [1], {}, {"a": 1},
]  # fmt: skip
PAIRS = [
    (values.Manifest, schema.Manifest),
    (values.ProviderSpec, schema.ProviderSpec),
    (values.RateLimitConfig, schema.RateLimitSpec),
    (values.RetryConfig, schema.RetrySpec),
    (values.PollConfig, schema.PollSpec),
    (values.DownloadConfig, schema.DownloadSpec),
    (values.PromptText, schema.PromptText),
    (values.PromptFile, schema.PromptFile),
    (values.ModelEntry, schema.ModelEntry),
    (values.PriceEntry, schema.PriceEntry),
]


def base_manifests() -> list[dict[str, Any]]:
    """The example manifests as plain data (${VAR} defaults written out)."""
    docs = [yaml.safe_load((DATA / name).read_text()) for name in ("full.yaml", "quickstart.yaml")]
    docs[0]["name"] = "full-example"
    docs[0]["provider"]["base_url"] = "https://api.example.test/v1"
    return docs


def key_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict | list):
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            yield from key_paths(child, (*path, key))


def mutations(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``doc`` with each node in turn replaced by each odd value, deleted, or given a sibling."""
    yield doc
    for path in list(key_paths(doc))[1:]:
        for value in [*ODD_VALUES, "delete", "sibling"]:
            mutated = copy.deepcopy(doc)
            parent = mutated
            for key in path[:-1]:
                parent = parent[key]
            if value == "delete":
                del parent[path[-1]]
            elif value == "sibling" and isinstance(parent, dict):
                parent[f"{path[-1]}_extra"] = 1
            else:
                parent[path[-1]] = copy.deepcopy(value)
            yield mutated


def finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    return all(finite(v) for v in value) if isinstance(value, list) else True


CASES = [case for doc in base_manifests() for case in mutations(doc)]


def test_plain_reads_are_what_the_schema_makes() -> None:
    """Whatever values.read accepts, pydantic accepts too, to the same values; whatever pydantic
    accepts comes back through values.read (the loader's way after a coercion)."""
    plain = judged = 0
    for data in CASES:
        fast = values.read(data)
        try:
            model = schema.Manifest.model_validate(data)
        except ValidationError:
            assert fast is None, data
            continue
        checked = values.read(model.model_dump(exclude_unset=True))
        assert checked is not None, data
        if fast is None:
            judged += 1
            continue
        plain += 1
        assert fast == checked
        if finite(data):
            assert values.dump(fast) == model.model_dump(mode="json")
    assert plain > 100
    assert judged > 50  # coercions (numbers as strings, ...) do take the other way


@pytest.mark.parametrize(("plain", "model"), PAIRS, ids=lambda c: c.__name__)
def test_plain_classes_mirror_the_schema_fields_and_defaults(
    plain: type[Any], model: type[BaseModel]
) -> None:
    """Same field names and the same defaults as the pydantic model they stand for."""
    dumped = {f.name for f in dataclasses.fields(plain) if f.metadata.get("dump", True)}
    assert dumped == set(model.model_fields)
    for f in dataclasses.fields(plain):
        if f.name not in model.model_fields or model.model_fields[f.name].is_required():
            continue
        default = model.model_fields[f.name].get_default(call_default_factory=True)
        mine = f.default_factory() if callable(f.default_factory) else f.default
        assert values.dump(mine) == (
            default.model_dump() if isinstance(default, BaseModel) else default
        )


def test_a_plain_manifest_loads_without_pydantic_or_a_live_display(tmp_path: Path) -> None:
    """`runner run`'s imports and a valid manifest's load leave pydantic and rich's live display
    unimported (each costs start-up time that a run of tiny items notices)."""
    code = (
        "import sys, runner.cli, runner.scheduler.run\n"
        "from pathlib import Path\n"
        "from runner.manifest import load_job\n"
        f"load_job(Path({str(DATA / 'full.yaml')!r}), env={{}})\n"
        "print(sorted(m for m in ('pydantic', 'rich.live') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout == "[]\n"
