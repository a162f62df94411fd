"""Structure and type problems: pydantic's errors, at the YAML position, in plain words."""

from __future__ import annotations

import json

from runner.manifest import json_schema
from tests.manifest.conftest import Workspace


def test_unknown_top_level_key_suggests_the_right_one(ws: Workspace) -> None:
    """A typo'd key is reported at the key with a "did you mean"."""
    text = """\
        name: cats
        promts: ["a cat"]
        prompts: ["a cat"]
        models: [dall-e-2]
        """
    assert ws.problems(text) == ["jobs/job.yaml:2:1: promts: unknown key (did you mean `prompts`?)"]


def test_unknown_nested_keys(ws: Workspace) -> None:
    """Unknown keys inside entries and sections; without a close match the keys are listed."""
    text = """\
        prompts: ["a cat"]
        models:
          - name: dall-e-3
            parms: {quality: hd}
        retry: {max_attemps: 3}
        poll: {zzz: 1}
        pricing: {flux-pro: {per_imag: 0.04}}
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:4:5: models[0].parms: unknown key (did you mean `params`?)",
        "jobs/job.yaml:5:9: retry.max_attemps: unknown key (did you mean `max_attempts`?)",
        "jobs/job.yaml:6:8: poll.zzz: unknown key "
        "(expected one of: interval_s, max_interval_s, timeout_s, concurrency)",
        "jobs/job.yaml:7:22: pricing.flux-pro.per_imag: unknown key (did you mean `per_image`?)",
    ]


def test_type_errors_say_what_would_be_right(ws: Workspace) -> None:
    """Wrong types and ranges name the expected type and bound and echo the value."""
    text = """\
        concurrency: ten
        budget_usd: -5
        rate_limit: {requests_per_minute: 0}
        retry: {max_attempts: true}
        provider: {timeout_s: 0.5}
        sizes: 1024x1024
        prompts: ["a cat"]
        models: [dall-e-2]
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:1:14: concurrency: must be an integer >= 1, got 'ten'",
        "jobs/job.yaml:2:13: budget_usd: must be a number > 0, got -5",
        "jobs/job.yaml:3:35: rate_limit.requests_per_minute: must be a number > 0, got 0",
        "jobs/job.yaml:4:23: retry.max_attempts: must be an integer >= 1, got true",
        "jobs/job.yaml:5:23: provider.timeout_s: must be a number >= 1, got 0.5",
        "jobs/job.yaml:6:8: sizes: must be a list, got '1024x1024'",
    ]


def test_missing_required_keys(ws: Workspace) -> None:
    """Missing `prompts`/`models` and a model entry without `name` are named."""
    assert ws.problems("name: x\n") == [
        "jobs/job.yaml:1:1: prompts: missing required key `prompts`",
        "jobs/job.yaml:1:1: models: missing required key `models`",
    ]
    text = """\
        prompts: ["a cat"]
        models: [{sizes: [256x256]}]
        """
    assert ws.problems(text) == ["jobs/job.yaml:2:10: models[0].name: missing required key `name`"]


def test_empty_and_non_mapping_documents(ws: Workspace) -> None:
    """An empty file or a top-level list is one problem about the document."""
    assert ws.problems("") == [
        "jobs/job.yaml:1:1: (document): the manifest is empty: it needs at least `prompts` and "
        "`models`"
    ]
    assert ws.problems("- a\n") == [
        "jobs/job.yaml:1:1: (document): the manifest is not a mapping: it needs at least "
        "`prompts` and `models`"
    ]


def test_union_forms(ws: Workspace) -> None:
    """Prompts, models and provider each say which forms they take."""
    text = """\
        prompts:
          - [nested]
          - {file: a.txt, text: x}
        models: [42]
        provider: openai
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:2:5: prompts[0]: must be a string, {text: ..., vars: ...} or {file: ...}, "
        "got a list",
        "jobs/job.yaml:3:19: prompts[1].text: unknown key (expected one of: file, meta)",
        "jobs/job.yaml:4:10: models[0]: must be a model name or {name: ..., sizes: ..., "
        "params: ...}, got 42",
        "jobs/job.yaml:5:11: provider: must be `sim` or a mapping, got 'openai'",
    ]


def test_secret_values_are_never_echoed(ws: Workspace) -> None:
    """Bad values under provider.headers and api_key_env are described, not shown."""
    text = """\
        provider:
          api_key_env: {value: sk-live-123}
          headers: {X-Key: true}
        prompts: ["a cat"]
        models: [dall-e-2]
        """
    problems = ws.problems(text)
    assert problems == [
        "jobs/job.yaml:2:16: provider.api_key_env: must be a string",
        "jobs/job.yaml:3:20: provider.headers.X-Key: must be a string",
    ]


def test_wrong_top_level_keys_do_not_hide_other_problems(ws: Workspace) -> None:
    """A type error in one key and a catalog problem elsewhere are reported together."""
    text = """\
        concurrency: 0
        prompts:
          - 42
          - [bad]
          - "a cat"
        models:
          - name: dall-e-3
            params: {n: 2}
          - {nme: x}
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:1:14: concurrency: must be an integer >= 1, got 0",
        "jobs/job.yaml:4:5: prompts[1]: must be a string, {text: ..., vars: ...} or {file: ...}, "
        "got a list",
        "jobs/job.yaml:8:17: models[0].params.n: dall-e-3 takes n=1",
        "jobs/job.yaml:9:5: models[1].name: missing required key `name`",
        "jobs/job.yaml:9:6: models[1].nme: unknown key (did you mean `name`?)",
    ]


def test_json_schema_describes_the_manifest() -> None:
    """The JSON Schema is serialisable, closed, and carries bounds and union forms."""
    schema = json_schema()
    json.dumps(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"prompts", "models"}
    assert schema["properties"]["concurrency"]["minimum"] == 1
    assert len(schema["properties"]["prompts"]["items"]["oneOf"]) == 3
    per_image = schema["$defs"]["PriceEntry"]["properties"]["per_image"]
    assert '"ge":' not in json.dumps(schema)
    assert '"gt":' not in json.dumps(schema)
    assert per_image["anyOf"][0] == {"type": "number", "minimum": 0}
