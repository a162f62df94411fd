"""Settings, defaults, provider forms, paths, merges and the job fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.manifest import ManifestError, load_job
from runner.types import (
    DownloadConfig,
    JobSettings,
    PollConfig,
    ProviderConfig,
    RateLimitConfig,
    RetryConfig,
)
from tests.manifest.conftest import Workspace

MINIMAL = 'prompts: ["a cat"]\nmodels: [gpt-image-1]\n'


def test_defaults(ws: Workspace) -> None:
    """A minimal manifest gets the contract's defaults; the name is the file's stem."""
    job = ws.load(MINIMAL, name="jobs/cats.yaml")
    assert job.settings == JobSettings(
        name="cats",
        manifest_path=Path("jobs/cats.yaml"),
        output_dir=Path("out/cats"),
        provider=ProviderConfig(),
    )
    assert job.settings.provider.base_url == "https://api.openai.com/v1"
    assert job.settings.provider.api_key_env == "OPENAI_API_KEY"


def test_every_setting(ws: Workspace) -> None:
    """Each run setting of the contract reaches JobSettings."""
    job = ws.load(
        """\
        name: cats-v1
        output_dir: results/cats
        provider:
          base_url: https://gw.example/v1/
          api_key_env: GW_KEY
          timeout_s: 60
          headers: {OpenAI-Organization: org-1}
        concurrency: 3
        max_pending_tasks: 40
        rate_limit: {requests_per_minute: 60, images_per_minute: 50}
        budget_usd: 25
        retry: {max_attempts: 2}
        poll: {interval_s: 1, max_interval_s: 10, timeout_s: 300, concurrency: 4}
        download: {concurrency: 2, max_bytes: 1000}
        prompts: ["a cat"]
        models: [gpt-image-1]
        """
    )
    assert job.settings == JobSettings(
        name="cats-v1",
        manifest_path=Path("jobs/job.yaml"),
        output_dir=Path("results/cats"),
        provider=ProviderConfig(
            base_url="https://gw.example/v1",
            api_key_env="GW_KEY",
            timeout_s=60.0,
            headers={"OpenAI-Organization": "org-1"},
        ),
        concurrency=3,
        max_pending_tasks=40,
        rate_limit=RateLimitConfig(requests_per_minute=60.0, images_per_minute=50.0),
        budget_usd=25.0,
        retry=RetryConfig(max_attempts=2),
        poll=PollConfig(interval_s=1.0, max_interval_s=10.0, timeout_s=300.0, concurrency=4),
        download=DownloadConfig(concurrency=2, max_bytes=1000),
    )


def test_output_dir_precedence(ws: Workspace) -> None:
    """--out wins over the manifest's output_dir, which wins over out/<name>."""
    path = ws.write("jobs/j.yaml", "output_dir: mine\n" + MINIMAL)
    assert load_job(path, env={}).settings.output_dir == Path("mine")
    assert load_job(path, out_dir=Path("flag"), env={}).settings.output_dir == Path("flag")
    assert ws.load("name: n1\n" + MINIMAL).settings.output_dir == Path("out/n1")


def test_base_url_from_environment(ws: Workspace) -> None:
    """Without provider.base_url, $OPENAI_BASE_URL is used, then OpenAI's."""
    job = ws.load(MINIMAL, env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1/"})
    assert job.settings.provider.base_url == "http://127.0.0.1:9/v1"
    assert ws.problems(MINIMAL, env={"OPENAI_BASE_URL": "localhost:9"}) == [
        "jobs/job.yaml:1:1: provider.base_url: $OPENAI_BASE_URL must be an http(s) URL like "
        "https://api.openai.com/v1, got 'localhost:9'"
    ]


def test_provider_sim_shorthand(ws: Workspace) -> None:
    """`provider: sim` means the simulator, no API key."""
    provider = ws.load("provider: sim\n" + MINIMAL).settings.provider
    assert provider == ProviderConfig(base_url="http://127.0.0.1:8000/v1", api_key_env=None, sim={})


def test_provider_sim_options(ws: Workspace) -> None:
    """`sim:` options pass through; the key variable defaults to none, or is as given."""
    text = "provider:\n  sim: {latency_s: 0.1, seed: 3}\n" + MINIMAL
    provider = ws.load(text).settings.provider
    assert (provider.sim, provider.api_key_env) == ({"latency_s": 0.1, "seed": 3}, None)
    text = "provider:\n  sim: {}\n  api_key_env: SIM_KEY\n" + MINIMAL
    assert ws.load(text).settings.provider.api_key_env == "SIM_KEY"
    text = "provider:\n  base_url: http://127.0.0.1:5/v1\n  api_key_env: null\n" + MINIMAL
    assert ws.load(text).settings.provider.api_key_env is None


def test_environment_variables_in_values(ws: Workspace) -> None:
    """${VAR:-default} works in any string, and numbers come out as numbers."""
    text = "name: ${JOB:-fallback}\nconcurrency: ${CONC:-2}\n" + MINIMAL
    assert (ws.load(text).settings.name, ws.load(text).settings.concurrency) == ("fallback", 2)
    job = ws.load(text, env={"JOB": "nightly", "CONC": "5"})
    assert (job.settings.name, job.settings.concurrency) == ("nightly", 5)


def test_settings_problems(ws: Workspace) -> None:
    """Bad URLs, a key in api_key_env, credentials in headers, bad names, poll intervals."""
    text = """\
        name: a/b
        provider:
          base_url: ftp://x
          api_key_env: sk-live-abcdef
          headers: {Authorization: Bearer sk-live-abcdef}
        poll: {interval_s: 10, max_interval_s: 5}
        prompts: ["a cat"]
        models: [gpt-image-1]
        """
    problems = ws.problems(text)
    assert problems == [
        "jobs/job.yaml:1:7: name: must be usable as a directory name (no slashes, not . or ..), "
        "got 'a/b'",
        "jobs/job.yaml:3:13: provider.base_url: must be an http(s) URL like "
        "https://api.openai.com/v1, got 'ftp://x'",
        "jobs/job.yaml:4:16: provider.api_key_env: must be the NAME of the environment variable "
        "that holds the key (e.g. OPENAI_API_KEY), never the key itself",
        "jobs/job.yaml:5:13: provider.headers.Authorization: the runner sends Authorization from "
        "api_key_env; credentials do not belong in the manifest",
        "jobs/job.yaml:6:40: poll.max_interval_s: must be >= poll.interval_s (10), got 5",
    ]
    assert not any("abcdef" in p for p in problems)


def test_unreadable_manifest(ws: Workspace) -> None:
    """A missing file is one problem, not a traceback."""
    with pytest.raises(ManifestError) as caught:
        load_job(Path("jobs/none.yaml"), env={})
    assert str(caught.value) == "jobs/none.yaml:1:1: (file): cannot read: No such file or directory"


def test_model_params_merge_over_global_and_repeats(ws: Workspace) -> None:
    """Per-model params merge over global ones; per-model sizes and repeats replace global."""
    job = ws.load(
        """\
        provider: sim
        prompts: ["a cat"]
        models:
          - name: dall-e-3
            params: {quality: hd}
          - name: gpt-image-1
            sizes: [1536x1024]
            params: {quality: high, n: 2}
            repeats: 2
        sizes: [1024x1024, 1792x1024]
        params: {n: 1, user: u1}
        """
    )
    cells = [(i.model, i.size, dict(i.params), i.repeat) for i in job.iter_items()]
    dall_e_3 = {"n": 1, "user": "u1", "quality": "hd"}
    gpt = {"n": 2, "user": "u1", "quality": "high", "size": "1536x1024"}
    assert cells == [
        ("dall-e-3", "1024x1024", {**dall_e_3, "size": "1024x1024"}, 0),
        ("dall-e-3", "1792x1024", {**dall_e_3, "size": "1792x1024"}, 0),
        ("gpt-image-1", "1536x1024", gpt, 0),
        ("gpt-image-1", "1536x1024", gpt, 1),
    ]
    assert (job.count(), job.images()) == (4, 6)


def test_default_sizes_come_from_the_catalog(ws: Workspace) -> None:
    """Without sizes, known models get their documented default; others send no size."""
    job = ws.load(
        'provider: sim\nprompts: ["a cat"]\n'
        "models: [dall-e-2, gpt-image-1, gemini-2.5-flash-image, foo-xl]\n"
    )
    sent = [(i.model, i.size, dict(i.params)) for i in job.iter_items()]
    assert sent == [
        ("dall-e-2", "1024x1024", {"n": 1, "size": "1024x1024"}),
        ("gpt-image-1", "auto", {"n": 1, "size": "auto"}),
        ("gemini-2.5-flash-image", None, {"n": 1}),
        ("foo-xl", None, {}),
    ]


def test_prompt_files_resolve_against_the_manifest(ws: Workspace) -> None:
    """Relative prompt paths are relative to the manifest's directory, not the cwd."""
    ws.write("jobs/shared/p.txt", "a cat\n")
    job = ws.load("prompts: [{file: ../shared/p.txt}]\nmodels: [gpt-image-1]\n", "jobs/sub/j.yaml")
    assert [p.where.file for p in job.prompts] == ["jobs/shared/p.txt"]


def test_fingerprint_tracks_content(ws: Workspace) -> None:
    """Same manifest and files, same fingerprint; a changed value or prompt file, a new one."""
    ws.write("jobs/p.txt", "a cat\n")
    text = "prompts: [{file: p.txt}]\nmodels: [gpt-image-1]\n"
    first = ws.load(text).fingerprint
    assert ws.load(text).fingerprint == first
    assert len(first) == 64
    assert int(first, 16) >= 0
    assert ws.load(text.replace("gpt-image-1", "gpt-image-1.5")).fingerprint != first
    ws.write("jobs/p.txt", "a cat\na dog\n")
    assert ws.load(text).fingerprint != first
