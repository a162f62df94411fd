"""load_job: a manifest file to a Job, or a ManifestError listing every problem at once.

Order: YAML with positions and ${VAR}s; structure and types (values.py for a plainly valid
manifest, else pydantic, which words the problems); then, on whatever part of the structure is
sound, settings, the catalog checks of every model entry and one pass over all prompts.
Nothing is sent anywhere: this is what makes a typo an exit 2, not a 3 a.m. 400.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.catalog import PriceOverride, Pricer, catalog_digest
from runner.manifest import values
from runner.manifest.job import Job
from runner.manifest.problems import ManifestError, Problem, sort_problems
from runner.manifest.prompts import Prompt
from runner.manifest.promptset import PromptSet, build_sources, scan
from runner.manifest.settings import build_settings
from runner.manifest.values import REQUIRED_LISTS, Manifest
from runner.manifest.variants import Cell, build_cells, canonical_json, pricing_problems
from runner.manifest.yamlpos import Located, load_located

if TYPE_CHECKING:
    from pydantic import ValidationError

    from runner.manifest.schema import Manifest as SchemaManifest

# Bump when expansion changes what items a manifest yields (ids, defaults, order).
EXPANSION_VERSION = 1
_BLANK = ""  # stands in for a wrong `prompts`/`models` entry while the rest is checked


SimCheck = Callable[[Mapping[str, Any]], Iterable[tuple[str | None, str]]]


def load_job(
    path: Path,
    *,
    out_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    check_sim: SimCheck | None = None,
) -> Job:
    """Load, validate and prepare a job; raises ManifestError listing every problem found.

    ``env`` (default ``os.environ``) feeds ``${VAR}`` and the default base URL. ``check_sim``
    vets ``provider.sim``'s options; it is passed in because the simulator is not this layer's to
    import, and its problems belong in the same list as the manifest's own.
    """
    env = os.environ if env is None else env
    display = str(path)
    located, problems = load_located(_read(path, display), display, env)
    if any(p.key == "(yaml)" for p in problems):
        # Nothing past a syntax error can be trusted: "the manifest is empty" would be noise.
        raise ManifestError(sort_problems(problems, display))
    checked = _validate(located)
    problems += checked.problems
    manifest = checked.manifest
    if manifest is None:
        raise ManifestError(sort_problems(problems, display))
    settings, found = build_settings(manifest, located, path, out_dir, env)
    found += _sim_problems(located, settings.provider.sim, check_sim)
    base_url = settings.provider.base_url
    cells, cell_problems, warnings = build_cells(manifest, located, base_url, checked.skip)
    price_problems, price_warnings = pricing_problems(manifest, located, cells)
    price_problems += _budget_problems(manifest, located, cells)
    sources, source_problems = build_sources(manifest, located, path.parent, checked.skip)
    prompts = PromptSet(sources)
    result = scan(prompts, _length_check(cells))
    problems += found + cell_problems + price_problems + source_problems + result.problems
    prompt_trouble = bool(source_problems or result.problems)
    problems += _emptiness(located, cells, result.count, checked.incomplete, prompt_trouble)
    if problems:
        raise ManifestError(sort_problems(problems, display))
    return Job(
        settings=settings,
        pricer=Pricer(_overrides(manifest)),
        fingerprint=_fingerprint(manifest, prompts),
        warnings=tuple(warnings + price_warnings + result.warnings),
        prompts=prompts,
        cells=tuple(cells),
        prompt_count=result.count,
        text_tokens=result.text_tokens,
    )


def _budget_problems(manifest: Manifest, located: Located, cells: list[Cell]) -> list[Problem]:
    """A budget cannot be kept over a model whose cost is unknown: refuse it before any spend."""
    if manifest.budget_usd is None:
        return []
    pricer = Pricer(_overrides(manifest))
    unpriced = sorted({c.model for c in cells if not pricer.is_priced(c.model)})
    return [
        located.problem(
            ("budget_usd",),
            f"{model} has no price, so the budget cannot be kept: "
            f"add it under `pricing` (e.g. `{model}: {{per_image: 0.04}}`)",
        )
        for model in unpriced
    ]


def _sim_problems(
    located: Located, options: Mapping[str, Any] | None, check: SimCheck | None
) -> list[Problem]:
    if options is None or check is None:
        return []
    return [
        located.problem(
            ("provider", "sim", key) if key else ("provider", "sim"), message, of_key=bool(key)
        )
        for key, message in check(options)
    ]


def _read(path: Path, display: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ManifestError([Problem(display, 1, 1, "(file)", f"cannot read: {reason}")]) from exc


@dataclass
class _Validation:
    """The manifest model (None when its structure is beyond repair) and what was set aside.

    When some keys are wrong, the rest is validated again without them so that their semantic
    problems (catalog, prompts) are reported in the same run: wrong top-level keys are dropped,
    wrong entries of `prompts`/`models` are blanked and listed in ``skip`` (keeping indices).
    """

    manifest: Manifest | None
    problems: list[Problem] = field(default_factory=list)
    incomplete: set[str] = field(default_factory=set)  # keys whose checks would mislead
    skip: dict[str, set[int]] = field(default_factory=dict)
    manifest_data: dict[str, Any] = field(default_factory=dict)  # what was validated again


def _validate(located: Located) -> _Validation:
    data = located.data
    if not isinstance(data, dict):
        what = "empty" if data is None else "not a mapping"
        message = f"the manifest is {what}: it needs at least `prompts` and `models`"
        return _Validation(None, [located.problem((), message)])
    manifest = values.read(data)
    return _Validation(manifest) if manifest is not None else _validate_by_schema(data, located)


def _validate_by_schema(data: dict[str, Any], located: Located) -> _Validation:
    # pydantic is imported here, not at the top: a plainly valid manifest never needs it
    from pydantic import ValidationError

    from runner.manifest.pyderrors import problems_from
    from runner.manifest.schema import Manifest as Schema

    try:
        return _Validation(_plain(Schema.model_validate(data)))
    except ValidationError as exc:
        checked = _set_aside(data, exc)
        checked.problems = problems_from(exc, located)
    try:
        checked.manifest = _plain(Schema.model_validate(checked.manifest_data))
    except ValidationError:
        return _Validation(None, checked.problems)
    return checked


def _plain(model: SchemaManifest) -> Manifest:
    """pydantic's validated (and coerced) manifest as the plain values the loader works on."""
    manifest = values.read(model.model_dump(exclude_unset=True))
    if manifest is None:
        raise AssertionError("values.read() refused a manifest the schema accepted")
    return manifest


def _set_aside(data: dict[str, Any], exc: ValidationError) -> _Validation:
    """What is left of ``data`` without the keys and entries pydantic found wrong."""
    skip: dict[str, set[int]] = {}
    dropped: set[str] = set()
    for error in exc.errors():
        loc = error["loc"]
        key = str(loc[0]) if loc else ""
        if key in REQUIRED_LISTS and len(loc) > 1 and isinstance(loc[1], int):
            skip.setdefault(key, set()).add(loc[1])
        else:
            dropped.add(key)
    partial: dict[str, Any] = {k: v for k, v in data.items() if k not in dropped}
    for key in REQUIRED_LISTS:
        items = partial.get(key) or []
        partial[key] = [_BLANK if i in skip.get(key, ()) else v for i, v in enumerate(items)]
    incomplete = dropped | set(skip) | (set(REQUIRED_LISTS) - set(data))
    return _Validation(None, [], incomplete, skip, partial)


def _length_check(cells: list[Cell]) -> Callable[[Prompt], str | None]:
    """A check for scan(): a prompt longer than some model of the job takes."""
    limits = sorted({(c.spec.prompt_max, c.model) for c in cells if c.spec and c.spec.prompt_max})
    shortest = limits[0][0] if limits else None

    def check(prompt: Prompt) -> str | None:
        size = len(prompt.text)
        if shortest is None or size <= shortest:
            return None
        over = ", ".join(
            f"{model} takes at most {limit:,}" for limit, model in limits if size > limit
        )
        return f"prompt is {size:,} characters; {over}"

    return check


def _emptiness(
    located: Located, cells: list[Cell], prompts: int, dropped: set[str], sources_failed: bool
) -> list[Problem]:
    problems = []
    if not cells and "models" not in dropped:
        problems.append(located.problem(("models",), "no models: list at least one"))
    if prompts == 0 and "prompts" not in dropped and not sources_failed:
        problems.append(located.problem(("prompts",), "no prompts: files and lists are all empty"))
    return problems


def _overrides(manifest: Manifest) -> dict[str, PriceOverride]:
    return {
        model: PriceOverride.from_manifest(dataclasses.asdict(entry))
        for model, entry in manifest.pricing.items()
    }


def _fingerprint(manifest: Manifest, prompts: PromptSet) -> str:
    """sha256 over what decides the items: the resolved manifest, prompt files, the catalog."""
    content = {
        "expansion": EXPANSION_VERSION,
        "catalog": catalog_digest(),
        "manifest": values.dump(manifest),
        "prompt_files": prompts.digests(),
    }
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
