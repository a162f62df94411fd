"""Work items: streamed in order, with ids that depend only on what is asked for."""

from __future__ import annotations

import json
import re

from runner.manifest import Job, item_id
from tests.manifest.conftest import Workspace

JOB = """\
provider: sim
prompts:
  - {id: p1, text: "a white cat", meta: {label: 1}}
  - "un café à Paris"
models:
  - name: dall-e-2
    sizes: [256x256, 512x512]
  - name: gpt-image-1
    params: {quality: low}
    repeats: 2
  - name: gemini-3-pro-image-preview
    sizes: [1792x1024]
"""


def ids(job: Job) -> dict[tuple[str, str, str | None, int], str]:
    return {(i.model, i.prompt, i.size, i.repeat): i.item_id for i in job.iter_items()}


def test_items_are_prompt_major_with_sequential_seq(ws: Workspace) -> None:
    """Each prompt meets every model, size and repeat before the next prompt; seq counts up."""
    items = list(ws.load(JOB).iter_items())
    assert [i.seq for i in items] == list(range(10))
    assert [(i.prompt[:5], i.model, i.size, i.repeat) for i in items[:5]] == [
        ("a whi", "dall-e-2", "256x256", 0),
        ("a whi", "dall-e-2", "512x512", 0),
        ("a whi", "gpt-image-1", "auto", 0),
        ("a whi", "gpt-image-1", "auto", 1),
        ("a whi", "gemini-3-pro-image-preview", "1792x1024", 0),
    ]
    assert items[0].prompt_id == "p1"
    assert dict(items[0].meta) == {"label": 1}
    assert items[5].prompt == "un café à Paris"
    assert items[5].prompt_id is None


def test_request_bodies(ws: Workspace) -> None:
    """The POST body is model + prompt + params; Gemini gets aspect_ratio/resolution, no size."""
    items = list(ws.load(JOB).iter_items())
    assert items[0].request_body() == {
        "model": "dall-e-2",
        "prompt": "a white cat",
        "n": 1,
        "size": "256x256",
    }
    assert items[4].request_body() == {
        "model": "gemini-3-pro-image-preview",
        "prompt": "a white cat",
        "n": 1,
        "aspect_ratio": "16:9",
        "resolution": "2k",
    }


def test_item_ids_match_the_reference_definition(ws: Workspace) -> None:
    """The fast id path equals sha256 of canonical JSON of model, prompt, size, params, repeat."""
    for item in ws.load(JOB).iter_items():
        assert re.fullmatch(r"[0-9a-f]{24}", item.item_id)
        assert item.item_id == item_id(item.model, item.prompt, item.size, item.params, item.repeat)
    body = {"model": "m", "params": {"n": 1}, "prompt": "é", "repeat": 0, "size": None}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert (
        item_id("m", "é", None, {"n": 1}, 0)
        == __import__("hashlib").sha256(canonical.encode("utf-8")).hexdigest()[:24]
    )


def test_ids_are_stable_and_distinct(ws: Workspace) -> None:
    """Loading twice gives the same ids; every item's id is distinct (repeats included)."""
    first, second = ids(ws.load(JOB)), ids(ws.load(JOB))
    assert first == second
    assert len(set(first.values())) == len(first) == 10


def test_meta_and_prompt_id_do_not_change_ids(ws: Workspace) -> None:
    """Relabelling a prompt (meta, id) keeps its items' ids."""
    relabelled = JOB.replace("{id: p1,", "{id: other,").replace("{label: 1}", "{label: 2}")
    assert ids(ws.load(relabelled)) == ids(ws.load(JOB))


def test_param_change_changes_only_that_models_ids(ws: Workspace) -> None:
    """A new param value gives that model new items; the other models' ids stay."""
    before = ids(ws.load(JOB))
    after = ids(ws.load(JOB.replace("{quality: low}", "{quality: high}")))
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {key for key in before if key[0] == "gpt-image-1"}


def test_adding_to_a_manifest_keeps_existing_ids(ws: Workspace) -> None:
    """A new prompt or model only adds items: every old id is still there."""
    grown = JOB.replace('  - "un café à Paris"\n', '  - "un café à Paris"\n  - "a new one"\n')
    grown += "  - flux-schnell\n"
    old, new = ids(ws.load(JOB)), ids(ws.load(grown))
    assert set(old.values()) <= set(new.values())
    assert len(new) == 3 * (2 + 2 + 1 + 1)


def test_iteration_is_repeatable_and_counted(ws: Workspace) -> None:
    """iter_items can run again with the same result; count() and images() need no expansion."""
    job = ws.load(JOB.replace("{quality: low}", "{quality: low, n: 3}"))
    first, second = list(job.iter_items()), list(job.iter_items())
    assert first == second
    assert job.count() == len(first) == 10
    assert job.images() == sum(i.images_expected for i in first) == 2 * (1 + 1 + 3 + 3 + 1)
    assert job.models == ("dall-e-2", "gpt-image-1", "gemini-3-pro-image-preview")


def test_items_own_their_params(ws: Workspace) -> None:
    """Changing one item's params dict cannot leak into another item's."""
    items = list(ws.load(JOB).iter_items())
    items[0].params["n"] = 99  # type: ignore[index]
    assert items[1].params["n"] == 1
    assert next(ws.load(JOB).iter_items()).params["n"] == 1
