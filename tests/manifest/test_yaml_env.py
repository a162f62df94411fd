"""YAML with positions, and ${VAR} expansion per scalar."""

from __future__ import annotations

import pytest

from runner.manifest.envsubst import UnsetVariable, expand
from runner.manifest.yamlpos import Pos, load_located


def test_positions_of_keys_and_values() -> None:
    """Every key and value is found again by key path, 1-based."""
    text = "name: x\nmodels:\n  - name: dall-e-3\n    params: {n: 2}\n"
    located, problems = load_located(text, "j.yaml", {})
    assert problems == []
    assert located.values[("models", 0, "params", "n")] == Pos(4, 17)
    assert located.keys[("models", 0, "params")] == Pos(4, 5)
    assert located.pos(("models", 0, "sizes")) == Pos(3, 5)  # absent: its parent


def test_syntax_error_points_at_the_mark() -> None:
    """A YAML syntax error is one problem at the parser's position."""
    located, problems = load_located("name: x\nmodels: [a, b\n", "j.yaml", {})
    assert located.data is None
    assert [str(p) for p in problems] == [
        "j.yaml:3:1: (yaml): not valid YAML: expected ',' or ']', but got '<stream end>'"
    ]


def test_duplicate_keys_are_problems() -> None:
    """A key given twice is reported at the second one, naming the first."""
    _, problems = load_located("concurrency: 4\nname: a\nconcurrency: 8\n", "j.yaml", {})
    assert [str(p) for p in problems] == [
        "j.yaml:3:1: concurrency: duplicate key (first given at line 1)"
    ]


def test_env_variables_expand_with_defaults() -> None:
    """${VAR} and ${VAR:-default} expand; unset-with-default uses the default."""
    env = {"HOST": "gw.example", "EMPTY": ""}
    text = 'a: "https://${HOST}/v1"\nb: ${MISSING:-fallback}\nc: ${EMPTY:-used}\nd: ${EMPTY-kept}\n'
    located, problems = load_located(text, "j.yaml", env)
    assert problems == []
    assert located.data == {"a": "https://gw.example/v1", "b": "fallback", "c": "used", "d": ""}


def test_unset_variable_is_a_problem_naming_it() -> None:
    """An unset ${VAR} without default names the variable and where it is."""
    _, problems = load_located("name: x\nprovider:\n  base_url: ${GW_URL}/v1\n", "j.yaml", {})
    assert [str(p) for p in problems] == [
        "j.yaml:3:13: provider.base_url: environment variable GW_URL is not set "
        "(write ${GW_URL:-default} to give a default)"
    ]


def test_plain_scalars_retype_after_expansion() -> None:
    """Unquoted ${N} becomes a number or bool; quoted stays a string."""
    env = {"N": "4", "FLAG": "true"}
    located, _ = load_located('a: ${N}\nb: "${N}"\nc: ${FLAG}\n', "j.yaml", env)
    assert located.data == {"a": 4, "b": "4", "c": True}


def test_ratios_and_dates_stay_strings() -> None:
    """YAML 1.1 would read 16:9 as base-60 and 2024-01-01 as a date; manifests mean text."""
    located, _ = load_located("r: 16:9\nd: 2024-01-01\nk: {1:1: x}\n", "j.yaml", {})
    assert located.data == {"r": "16:9", "d": "2024-01-01", "k": {"1:1": "x"}}


def test_merge_keys_apply() -> None:
    """`<<: *anchor` merges a mapping, positions included."""
    text = "base: &b {quality: hd, style: vivid}\nparams:\n  <<: *b\n  style: natural\n"
    located, problems = load_located(text, "j.yaml", {})
    assert problems == []
    assert located.data["params"] == {"quality": "hd", "style": "natural"}


def test_recursive_alias_is_a_problem() -> None:
    """A self-referencing alias is reported instead of recursing forever."""
    _, problems = load_located("a: &x [1, *x]\n", "j.yaml", {})
    assert [p.message for p in problems] == ["recursive YAML alias"]


def test_escaped_dollar_brace_is_literal() -> None:
    """$${ writes a literal ${ in a string."""
    assert expand("cost $${X} and ${Y}", {"Y": "y"}) == "cost ${X} and y"
    with pytest.raises(UnsetVariable) as caught:
        expand("${NOPE}", {})
    assert caught.value.name == "NOPE"
