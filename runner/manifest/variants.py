"""The model x size cells of a job, checked against the catalog before any request.

Each `models` entry merges the global params under its own and picks its sizes; every (entry,
size) pair is a Cell whose items differ only by prompt and repeat. Everything a known model is
documented to refuse becomes a Problem naming the model and the key, at the YAML it came from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from runner.catalog import ModelSpec, SizeParam, known_models, lookup, runner_rejects, size_problem
from runner.catalog import size_request_params as size_keys
from runner.manifest.problems import KeyPath, Problem, format_key, show
from runner.manifest.values import Manifest, ModelEntry
from runner.manifest.yamlpos import Located

_GLOBAL_PARAM = (
    "; global params go to every model, so put it under the params of the models that take it"
)
_SET_ELSEWHERE = {
    "model": "`model` is set by `models`, not by params",
    "prompt": "`prompt` is set by `prompts`, not by params",
    "size": "sizes go in `sizes` (a list), not in params",
}


def canonical_json(value: Any) -> str:
    """The one JSON text of a value that item ids hash: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Cell:
    """One models entry at one size: what all of its items send, apart from the prompt."""

    model: str
    size: str | None
    params: Mapping[str, Any]  # everything sent besides model and prompt
    repeats: int
    entry: int  # index in `models`
    spec: ModelSpec | None = None
    params_json: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params_json", canonical_json(dict(self.params)))

    @property
    def images(self) -> int:
        """Images each item of this cell asks for (n)."""
        n = self.params.get("n", 1)
        return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


@dataclass
class _Found:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def build_cells(
    manifest: Manifest,
    located: Located,
    base_url: str,
    skip: Mapping[str, set[int]] | None = None,
) -> tuple[list[Cell], list[Problem], list[str]]:
    """Every cell in `models` order, with the problems and warnings the catalog finds.

    ``skip["models"]`` lists entries already reported as malformed.
    """
    found = _Found()
    cells: list[Cell] = []
    skipped = (skip or {}).get("models", set())
    for i, item in enumerate(manifest.models):
        if i in skipped:
            continue
        entry = ModelEntry(name=item) if isinstance(item, str) else item
        cells += _entry_cells(manifest, located, i, entry, found)
        _model_warnings(entry.name, base_url, manifest, found)
    found.problems += _duplicate_cells(cells, located)
    return cells, found.problems, list(dict.fromkeys(found.warnings))


def _entry_cells(
    manifest: Manifest, located: Located, i: int, entry: ModelEntry, found: _Found
) -> list[Cell]:
    spec = lookup(entry.name)
    params, origins = _merged_params(manifest.params, entry.params or {}, i)
    for key, value in params.items():
        _check_param(entry.name, spec, key, value, origins[key], located, found)
    labels = _size_labels(manifest, located, i, entry, spec, found)
    if spec is not None and spec.size_param is SizeParam.ASPECT_RATIO and labels != [None]:
        _size_conflicts(spec, params, origins, located, found)
    repeats = entry.repeats or manifest.repeats
    return [
        Cell(entry.name, label, _sent(spec, params, label), repeats, i, spec) for label in labels
    ]


def _merged_params(
    global_params: Mapping[str, Any], own: Mapping[str, Any], i: int
) -> tuple[dict[str, Any], dict[str, KeyPath]]:
    origins: dict[str, KeyPath] = {k: ("params", k) for k in global_params}
    origins |= {k: ("models", i, "params", k) for k in own}
    return {**global_params, **own}, origins


def _sent(spec: ModelSpec | None, params: Mapping[str, Any], label: str | None) -> dict[str, Any]:
    sent = dict(params)
    if spec is not None:
        sent.setdefault("n", 1)
    if label is not None:
        sent.update(size_keys(spec, label))
    return sent


def _check_param(
    model: str,
    spec: ModelSpec | None,
    key: str,
    value: Any,
    origin: KeyPath,
    located: Located,
    found: _Found,
) -> None:
    message = _param_problem(model, spec, key, value)
    if message is not None:
        model_specific = key not in _SET_ELSEWHERE and key not in runner_rejects()
        suffix = _GLOBAL_PARAM if origin[0] == "params" and model_specific else ""
        found.problems.append(located.problem(origin, message + suffix))
    elif spec is not None and key not in spec.params and key != "n":
        found.warnings.append(
            f"{model}: param `{key}` is not in the catalog for this model; it is sent as is"
        )


def _param_problem(model: str, spec: ModelSpec | None, key: str, value: Any) -> str | None:
    if key in _SET_ELSEWHERE:
        return _SET_ELSEWHERE[key]
    runner_reason = runner_rejects().get(key)
    if runner_reason is not None and value not in (None, False):
        return f"`{key}` is not supported: {runner_reason}"
    if key == "n":
        return _n_problem(model, spec, value)
    if spec is None:
        return None
    if key in spec.rejects:
        return f"{model} does not accept `{key}`: {spec.rejects[key]}"
    param = spec.params.get(key)
    reason = None if param is None else param.check(value)
    return None if reason is None else f"{model} takes {reason}; got {show(value)}"


def _n_problem(model: str, spec: ModelSpec | None, value: Any) -> str | None:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if spec is None:
        return None if is_int and value >= 1 else f"n must be an integer >= 1; got {show(value)}"
    if is_int and spec.n_min <= value <= spec.n_max:
        return None
    if spec.n_min == spec.n_max:
        return f"{model} takes {spec.n_phrase()}"
    return f"{model} takes {spec.n_phrase()}; got {show(value)}"


def _size_labels(
    manifest: Manifest,
    located: Located,
    i: int,
    entry: ModelEntry,
    spec: ModelSpec | None,
    found: _Found,
) -> list[str | None]:
    if entry.sizes is not None:
        path: KeyPath = ("models", i, "sizes")
        labels: Sequence[str] = entry.sizes
    elif manifest.sizes is not None:
        path, labels = ("sizes",), manifest.sizes
    else:
        return [spec.default_size if spec is not None else None]
    if not labels:
        found.problems.append(located.problem(path, "must not be empty"))
    for j in range(len(labels)):
        message = _size_message(entry.name, spec, labels, j, global_sizes=path == ("sizes",))
        if message is not None:
            found.problems.append(located.problem((*path, j), message))
    return list(dict.fromkeys(labels))


def _size_message(
    model: str, spec: ModelSpec | None, labels: Sequence[str], j: int, *, global_sizes: bool
) -> str | None:
    label = labels[j]
    if label in labels[:j]:
        return f"duplicate size {label}"
    reason = size_problem(spec, label) if spec is not None else None
    if reason is None:
        return None
    return reason + (f"; give {model} its own `sizes`" if global_sizes else "")


def _size_conflicts(
    spec: ModelSpec,
    params: Mapping[str, Any],
    origins: Mapping[str, KeyPath],
    located: Located,
    found: _Found,
) -> None:
    for key in ("aspect_ratio", "resolution"):
        if key in params and key not in spec.rejects:
            message = (
                f"{spec.name} gets `{key}` from the size label; give either sizes or params.{key}"
            )
            found.problems.append(located.problem(origins[key], message))


def _duplicate_cells(cells: list[Cell], located: Located) -> list[Problem]:
    first: dict[tuple[str, str | None, str], int] = {}
    problems: list[Problem] = []
    for cell in cells:
        key = (cell.model, cell.size, cell.params_json)
        earlier = first.setdefault(key, cell.entry)
        if earlier != cell.entry:
            message = (
                f"{format_key(('models', earlier))} already asks for {cell.model} at size "
                f"{cell.size} with the same params: every item would be a duplicate"
            )
            problems.append(located.problem(("models", cell.entry), message))
    return problems


def _model_warnings(model: str, base_url: str, manifest: Manifest, found: _Found) -> None:
    spec = lookup(model)
    if spec is None:
        import difflib  # only an unknown model needs it

        priced = "priced from `pricing`" if model in manifest.pricing else "not priced"
        close = difflib.get_close_matches(model, known_models(), n=1, cutoff=0.8)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        found.warnings.append(
            f"model '{model}' is not in the catalog{hint}: not validated, {priced}"
        )
    elif spec.retired is not None and urlsplit(base_url).hostname == spec.retired.where:
        found.warnings.append(
            f"{model} was switched off at {spec.retired.where} on {spec.retired.date}; "
            "expect 'model_not_found' unless base_url is a gateway that still serves it"
        )


def pricing_problems(
    manifest: Manifest, located: Located, cells: list[Cell]
) -> tuple[list[Problem], list[str]]:
    """Per-size price overrides that miss a size the job uses; overrides for unused models."""
    problems: list[Problem] = []
    used = {cell.model for cell in cells}
    warnings = [
        f"pricing: '{model}' is not one of the job's models"
        for model in manifest.pricing
        if model not in used
    ]
    for cell in cells:
        entry = manifest.pricing.get(cell.model)
        table = entry.per_image if entry is not None else None
        if isinstance(table, dict) and "*" not in table and (cell.size or "*") not in table:
            message = (
                f"no price for size {cell.size}, which {format_key(('models', cell.entry))} "
                "asks for"
            )
            problems.append(located.problem(("pricing", cell.model, "per_image"), message))
    return problems, warnings
