"""YAML to plain Python values, remembering where each key and value was written.

``yaml.compose`` keeps every node's start mark; walking the node tree ourselves lets later
checks (pydantic's, the catalog's) report ``file:line:column`` for any key path. Environment
variables are expanded here, per scalar, so their problems point at the scalar too.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from runner.manifest.envsubst import UnsetVariable, expand
from runner.manifest.problems import KeyPath, Problem, format_key

_STR_TAG = "tag:yaml.org,2002:str"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column."""

    line: int
    column: int


@dataclass
class Located:
    """A document's value with the position of every value node and mapping key by key path."""

    file: str
    data: Any = None
    values: dict[KeyPath, Pos] = field(default_factory=dict)
    keys: dict[KeyPath, Pos] = field(default_factory=dict)

    def pos(self, path: KeyPath, *, of_key: bool = False) -> Pos:
        """Where ``path`` was written: its key or its value, else its nearest written parent."""
        if of_key and path in self.keys:
            return self.keys[path]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, Pos(1, 1))

    def problem(self, path: KeyPath, message: str, *, of_key: bool = False) -> Problem:
        """A Problem about ``path`` at the position it was written."""
        where = self.pos(path, of_key=of_key)
        return Problem(self.file, where.line, where.column, format_key(path), message)


def _pos(node: yaml.Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


def load_located(text: str, file: str, env: Mapping[str, str]) -> tuple[Located, list[Problem]]:
    """Parse one YAML document; the problems are syntax errors, duplicate keys and unset vars."""
    located = Located(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "not valid YAML"
        return located, [Problem(file, line, column, "(yaml)", f"not valid YAML: {reason}")]
    except yaml.YAMLError as exc:
        return located, [Problem(file, 1, 1, "(yaml)", f"not valid YAML: {exc}")]
    walker = _Walker(located, env)
    if root is not None:
        located.data = walker.value(root, (), ())
    return located, walker.problems


class _Walker:
    """Builds the value tree and the position maps, collecting problems on the way."""

    def __init__(self, located: Located, env: Mapping[str, str]) -> None:
        self.located = located
        self.env = env
        self.problems: list[Problem] = []
        self.constructor = yaml.constructor.SafeConstructor()
        self.resolver = yaml.resolver.Resolver()

    def value(self, node: yaml.Node, path: KeyPath, stack: tuple[int, ...]) -> Any:
        self.located.values[path] = _pos(node)  # a merged key overridden later: the later wins
        if id(node) in stack or len(stack) > _MAX_DEPTH:
            self.problems.append(self.located.problem(path, "recursive YAML alias"))
            return None
        stack = (*stack, id(node))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, stack)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i), stack) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)  # the only other kind of node
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: KeyPath, stack: tuple[int, ...]) -> Any:
        own = {id(key) for key, _ in node.value}
        self.constructor.flatten_mapping(node)  # applies `<<: *anchor` merge keys
        out: dict[str, Any] = {}
        written: set[str] = set()  # keys written in this mapping itself, not merged in
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(self.located.problem(path, "keys must be plain strings"))
                continue
            key = str(key_node.value)  # the text as written: `16:9` stays a string
            child = (*path, key)
            is_own = id(key_node) in own
            if is_own and key in written:
                first = self.located.keys[child]
                message = f"duplicate key (first given at line {first.line})"
                self.problems.append(
                    Problem(self.located.file, *_at(key_node), format_key(child), message)
                )
                continue
            if is_own:
                written.add(key)
            self.located.keys[child] = _pos(key_node)  # merged keys come first: own keys win
            out[key] = self.value(value_node, child, stack)
        return out

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        if node.tag == _STR_TAG and "$" in node.value:
            try:
                expanded = expand(node.value, self.env)
            except UnsetVariable as exc:
                message = (
                    f"environment variable {exc.name} is not set "
                    f"(write ${{{exc.name}:-default}} to give a default)"
                )
                self.problems.append(self.located.problem(path, message))
                return node.value
            if node.style is not None or not expanded:
                return expanded  # quoted or empty: stays a string whatever the variable holds
            tag = self.resolver.resolve(yaml.ScalarNode, expanded, (True, False))  # type: ignore[no-untyped-call]
            node = yaml.ScalarNode(tag, expanded)
        return self.construct(node)

    def construct(self, node: yaml.ScalarNode) -> Any:
        if node.tag in _NUMBER_TAGS and ":" in node.value:
            return node.value  # YAML 1.1 reads `16:9` as a base-60 number; nobody means that
        value = self.constructor.construct_object(node)
        if isinstance(value, datetime.date):
            return node.value  # dates are plain text to a manifest
        if not isinstance(value, str | int | float | bool | None):
            return node.value  # e.g. !!binary: a manifest holds JSON-like values only
        return value


def _at(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1
