"""Catalog checks: everything a known model is documented to refuse, before any request."""

from __future__ import annotations

from tests.manifest.conftest import Workspace

GLOBAL = "; global params go to every model, so put it under the params of the models that take it"


def test_n_ranges(ws: Workspace) -> None:
    """dall-e-3 takes n=1; dall-e-2 and gpt-image take 1..10; n must be an integer."""
    text = """\
        prompts: ["a cat"]
        models:
          - name: dall-e-3
            params: {n: 2}
          - name: dall-e-2
            params: {n: 12}
          - name: gpt-image-1
            params: {n: 0}
          - name: foo-xl
            params: {n: two}
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:4:17: models[0].params.n: dall-e-3 takes n=1",
        "jobs/job.yaml:6:17: models[1].params.n: dall-e-2 takes n from 1 to 10; got 12",
        "jobs/job.yaml:8:17: models[2].params.n: gpt-image-1 takes n from 1 to 10; got 0",
        "jobs/job.yaml:10:17: models[3].params.n: n must be an integer >= 1; got 'two'",
    ]


def test_global_param_refused_by_one_model(ws: Workspace) -> None:
    """A global param is checked against every model and reported at the global key."""
    text = """\
        prompts: ["a cat"]
        models: [dall-e-3, gpt-image-1]
        params: {n: 2, style: vivid}
        """
    assert ws.problems(text) == [
        f"jobs/job.yaml:3:13: params.n: dall-e-3 takes n=1{GLOBAL}",
        "jobs/job.yaml:3:23: params.style: gpt-image-1 does not accept `style`: `style` is for "
        f"dall-e-3 only{GLOBAL}",
    ]


def test_rejected_params_name_model_and_key(ws: Workspace) -> None:
    """response_format/style for gpt-image, input_fidelity for gpt-image-2, resolution for Flash."""
    text = """\
        prompts: ["a cat"]
        models:
          - name: gpt-image-1
            params: {response_format: url}
          - name: gpt-image-2
            params: {input_fidelity: high, style: vivid}
          - name: gemini-2.5-flash-image
            params: {resolution: 2k}
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:4:31: models[0].params.response_format: gpt-image-1 does not accept "
        "`response_format`: GPT image models always return base64 (OpenAI answers 400 "
        "unknown_parameter; facts 1.5)",
        "jobs/job.yaml:6:30: models[1].params.input_fidelity: gpt-image-2 does not accept "
        "`input_fidelity`: gpt-image-2 always uses high fidelity; gateways drop or refuse it "
        "(gateway docs)",
        "jobs/job.yaml:6:43: models[1].params.style: gpt-image-2 does not accept `style`: "
        "`style` is for dall-e-3 only",
        "jobs/job.yaml:8:26: models[2].params.resolution: gemini-2.5-flash-image does not "
        "accept `resolution`: Gemini Flash image models have no public resolution choice "
        "(gateway docs 001)",
    ]


def test_accepted_values(ws: Workspace) -> None:
    """Closed sets (quality) and typed ranges (output_compression) are checked per model."""
    text = """\
        prompts: ["a cat"]
        models:
          - name: dall-e-3
            params: {quality: high}
          - name: gpt-image-1
            params: {quality: hd, output_compression: 150, background: transparent}
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:4:23: models[0].params.quality: dall-e-3 takes quality standard or hd; "
        "got 'high'",
        "jobs/job.yaml:6:23: models[1].params.quality: gpt-image-1 takes quality low, medium, "
        "high or auto; got 'hd'",
        "jobs/job.yaml:6:47: models[1].params.output_compression: gpt-image-1 takes "
        "output_compression from 0 to 100; got 150",
    ]


def test_params_that_belong_elsewhere(ws: Workspace) -> None:
    """model, prompt and size are not params; stream is refused for every model."""
    text = """\
        prompts: ["a cat"]
        models: [foo-xl]
        params: {model: x, prompt: y, size: 1024x1024, stream: true}
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:3:17: params.model: `model` is set by `models`, not by params",
        "jobs/job.yaml:3:28: params.prompt: `prompt` is set by `prompts`, not by params",
        "jobs/job.yaml:3:37: params.size: sizes go in `sizes` (a list), not in params",
        "jobs/job.yaml:3:56: params.stream: `stream` is not supported: the runner reads JSON "
        "answers; streaming (server-sent events) is not supported",
    ]


def test_sizes_per_model_and_global(ws: Workspace) -> None:
    """Own sizes are checked for their model; global sizes for every model without its own."""
    text = """\
        prompts: ["a cat"]
        models:
          - name: dall-e-3
            sizes: [1024x1024, 512x512, 1024x1024]
          - gpt-image-1
          - name: gpt-image-2
            sizes: [1000x1000, 3840x2160]
          - name: dall-e-2
            sizes: []
        sizes: [1024x1024, 1792x1024]
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:4:24: models[0].sizes[1]: dall-e-3 takes sizes 1024x1024, 1792x1024, "
        "1024x1792; got 512x512",
        "jobs/job.yaml:4:33: models[0].sizes[2]: duplicate size 1024x1024",
        "jobs/job.yaml:7:13: models[2].sizes[0]: gpt-image-2 cannot take 1000x1000: both sides "
        "must be multiples of 16",
        "jobs/job.yaml:9:12: models[3].sizes: must not be empty",
        "jobs/job.yaml:10:20: sizes[1]: gpt-image-1 takes sizes 1024x1024, 1536x1024, "
        "1024x1536, auto; got 1792x1024; give gpt-image-1 its own `sizes`",
    ]


def test_gemini_size_and_aspect_ratio_conflict(ws: Workspace) -> None:
    """With sizes, Gemini's aspect_ratio comes from them: giving both is a problem."""
    text = """\
        prompts: ["a cat"]
        models:
          - name: gemini-3-pro-image-preview
            sizes: [1024x1024]
            params: {aspect_ratio: "16:9", resolution: 4k}
          - name: gemini-2.5-flash-image
            params: {aspect_ratio: "4:3"}
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:5:28: models[0].params.aspect_ratio: gemini-3-pro-image-preview gets "
        "`aspect_ratio` from the size label; give either sizes or params.aspect_ratio",
        "jobs/job.yaml:5:48: models[0].params.resolution: gemini-3-pro-image-preview gets "
        "`resolution` from the size label; give either sizes or params.resolution",
    ]


def test_duplicate_model_entries(ws: Workspace) -> None:
    """Two entries asking for the same model, size and params would duplicate every item."""
    text = """\
        prompts: ["a cat"]
        models:
          - dall-e-2
          - name: dall-e-2
            params: {n: 1}
          - name: dall-e-2
            params: {n: 2}
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:4:5: models[1]: models[0] already asks for dall-e-2 at size 1024x1024 "
        "with the same params: every item would be a duplicate"
    ]


def test_unknown_models_pass_with_a_warning(ws: Workspace) -> None:
    """An unknown model is neither validated nor priced, and a near name is suggested."""
    job = ws.load(
        """\
        provider: sim
        prompts: ["a cat"]
        models:
          - name: dall-e3
            params: {quality: ultra, style: anything}
          - foo-xl
        """
    )
    assert job.warnings == (
        "model 'dall-e3' is not in the catalog (did you mean 'dall-e-3'?): not validated, "
        "not priced",
        "model 'foo-xl' is not in the catalog: not validated, not priced",
    )
    first = next(job.iter_items())
    assert (first.size, dict(first.params)) == (None, {"quality": "ultra", "style": "anything"})


def test_undocumented_params_of_known_models_warn(ws: Workspace) -> None:
    """A param the catalog does not list for a known model is sent, with a warning."""
    job = ws.load(
        """\
        provider: sim
        prompts: ["a cat"]
        models: [{name: flux-pro, params: {seed: 42}}]
        """
    )
    assert job.warnings == (
        "flux-pro: param `seed` is not in the catalog for this model; it is sent as is",
    )


def test_retired_models_warn_only_for_openai(ws: Workspace) -> None:
    """dall-e-3 was switched off at api.openai.com; through a gateway it is fine."""
    text = 'prompts: ["a cat"]\nmodels: [dall-e-3]\n'
    assert ws.load(text).warnings == (
        "dall-e-3 was switched off at api.openai.com on 2026-05-12; "
        "expect 'model_not_found' unless base_url is a gateway that still serves it",
    )
    assert ws.load(text, env={"OPENAI_BASE_URL": "https://gw.example/v1"}).warnings == ()


def test_pricing_problems_and_warnings(ws: Workspace) -> None:
    """A per-size price that misses a used size is a problem; unused overrides warn."""
    text = """\
        provider: sim
        prompts: ["a cat"]
        models: [{name: foo-xl, sizes: [512x512, 1024x1024]}]
        pricing:
          foo-xl: {per_image: {1024x1024: 0.02}}
          bar: {per_image: 0.1}
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:5:23: pricing.foo-xl.per_image: no price for size 512x512, which "
        "models[0] asks for"
    ]
    text = text.replace("512x512, ", "")
    assert ws.load(text).warnings[-1] == "pricing: 'bar' is not one of the job's models"


def test_price_override_shapes(ws: Workspace) -> None:
    """per_image and token prices cannot be mixed; a price entry needs one of them."""
    text = """\
        prompts: ["a cat"]
        models: [flux-pro]
        pricing:
          flux-pro: {per_image: 0.04, output_per_mtok: 3}
          other: {}
          third: {per_image: {1024x1024: -1}}
        """
    assert ws.problems(text) == [
        "jobs/job.yaml:4:13: pricing.flux-pro: give either per_image or token prices "
        "(*_per_mtok), not both",
        "jobs/job.yaml:5:10: pricing.other: give per_image or token prices (input_per_mtok, "
        "output_per_mtok, ...)",
        "jobs/job.yaml:6:22: pricing.third.per_image: prices must be numbers >= 0 "
        "(see size 1024x1024)",
    ]
