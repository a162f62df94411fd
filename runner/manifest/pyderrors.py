"""pydantic's validation errors as Problems a person can act on, at the YAML position.

pydantic reports a ``loc`` (key path, plus Tags of discriminated unions) and an error type; the
JSON schema of the same models says what the value should have been, so messages read
"must be an integer >= 1, got 'ten'" and unknown keys get a "did you mean".
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from runner.manifest.problems import KeyPath, Problem, show
from runner.manifest.schema import Manifest
from runner.manifest.yamlpos import Located

# Values under these keys may be secrets: never echo them in a message.
_SECRET_PREFIXES: tuple[KeyPath, ...] = (("provider", "headers"), ("provider", "api_key_env"))
_TYPE_ERRORS = (
    "_type",
    "_parsing",
    "int_from_float",
    "greater_than",
    "less_than",
    "bool_not_number",
)
_CUSTOM_FORMS = ("prompt_form", "model_form", "provider_form")

Schema = Mapping[str, Any]


@functools.cache
def _root_schema() -> Schema:
    return Manifest.model_json_schema()


class _SchemaWalk:
    """Follows a pydantic ``loc`` through the JSON schema, separating union Tags from keys."""

    def __init__(self, loc: tuple[int | str, ...]) -> None:
        root = _root_schema()
        self.defs: Mapping[str, Schema] = root.get("$defs", {})
        self.path: list[str | int] = []
        self.parent: Schema | None = None
        self.union: Schema | None = None  # the last discriminated union passed through
        node: Schema | None = root
        for part in loc:
            node = self._step(self._resolve(node), part)
        self.node = self._resolve(node)

    def _resolve(self, node: Schema | None) -> Schema | None:
        """Follow ``$ref`` and drop the ``null`` branch of optional fields."""
        while node is not None:
            if "$ref" in node:
                node = self.defs.get(str(node["$ref"]).rsplit("/", 1)[-1])
                continue
            branches = [b for b in node.get("anyOf", ()) if b.get("type") != "null"]
            if "anyOf" in node and len(branches) == 1:
                node = branches[0]
                continue
            return node
        return None

    def _step(self, node: Schema | None, part: int | str) -> Schema | None:
        if node is not None and isinstance(part, str):
            branches: list[Schema] = node.get("oneOf", [])
            for branch in branches:
                if _is_tag(branch, part):
                    self.union = node
                    return branch  # a union Tag: not a key written in the YAML
        self.path.append(part)
        self.parent = node
        if node is None:
            return None
        if isinstance(part, int):
            items = node.get("items")
            return items if isinstance(items, Mapping) else None
        props = node.get("properties", {})
        if part in props:
            child: Schema = props[part]
            return child
        extra = node.get("additionalProperties")
        return extra if isinstance(extra, Mapping) else None

    def allowed_keys(self) -> list[str]:
        return list((self.parent or {}).get("properties", {}))


def _is_tag(branch: Schema, tag: str) -> bool:
    if "$ref" in branch:
        return str(branch["$ref"]).rsplit("/", 1)[-1] == tag
    return branch.get("const") == tag or (tag == "str" and branch.get("type") == "string")


def describe(node: Schema | None) -> str:
    """What a schema node accepts, as a phrase: "an integer >= 1", "a list", ..."""
    if node is not None and "$ref" in node:
        node = _root_schema().get("$defs", {}).get(str(node["$ref"]).rsplit("/", 1)[-1])
    if node is None:
        return "a valid value"
    if "const" in node:
        return f"`{node['const']}`"
    branches = node.get("oneOf") or node.get("anyOf")
    if branches:
        return " or ".join(dict.fromkeys(describe(b) for b in branches))
    kind = node.get("type")
    if isinstance(kind, list):
        return "a string, number or true/false"
    base = {
        "integer": "an integer",
        "number": "a number",
        "string": "a string",
        "boolean": "true or false",
        "array": "a list",
        "object": "a mapping",
        "null": "null",
    }.get(str(kind), "a valid value")
    return base + _bounds(node)


def _bounds(node: Schema) -> str:
    if "minimum" in node:
        return f" >= {_num(node['minimum'])}"
    if "exclusiveMinimum" in node:
        return f" > {_num(node['exclusiveMinimum'])}"
    return ""


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def problems_from(error: ValidationError, located: Located) -> list[Problem]:
    """Every pydantic error as a Problem at the position of the YAML it is about."""
    return [_problem(detail, located) for detail in error.errors(include_url=False)]


def _problem(detail: ErrorDetails, located: Located) -> Problem:
    walk = _SchemaWalk(tuple(detail["loc"]))
    path: KeyPath = tuple(walk.path)
    kind = detail["type"]
    if kind == "extra_forbidden":
        return located.problem(path, _unknown_key(str(path[-1]), walk.allowed_keys()), of_key=True)
    if kind == "missing":
        return located.problem(path, f"missing required key `{path[-1]}`")
    return located.problem(path, _message(detail, walk, path))


def _unknown_key(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean `{close[0]}`?)"
    return f"unknown key (expected one of: {', '.join(allowed)})"


def _message(detail: ErrorDetails, walk: _SchemaWalk, path: KeyPath) -> str:
    kind = detail["type"]
    got = _got(detail.get("input"), path)
    if kind in ("value_error", "assertion_error"):
        return str(detail.get("ctx", {}).get("error", detail["msg"]))
    if kind in _CUSTOM_FORMS:
        return f"{detail['msg']}{got}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "literal_error":
        return f"must be {describe(walk.union or walk.node)}{got}"
    if any(kind.endswith(t) or kind.startswith(t) for t in _TYPE_ERRORS):
        return f"must be {describe(walk.node)}{got}"
    return f"{detail['msg']}{got}"


def _got(value: Any, path: KeyPath) -> str:
    if any(path[: len(prefix)] == prefix for prefix in _SECRET_PREFIXES):
        return ""
    return f", got {show(value)}"
