"""A validated manifest's run settings as runner.types.JobSettings, defaults applied.

The API key itself never passes through here: only the NAME of its variable, and no message
ever echoes a value that might be a credential.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from runner.manifest.problems import Problem
from runner.manifest.values import Manifest, ProviderSpec
from runner.manifest.yamlpos import Located
from runner.types import (
    JobSettings,
    ProviderConfig,
)

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Where `runner sim` listens by default; the CLI replaces it with the simulator it starts.
SIM_BASE_URL = "http://127.0.0.1:8000/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RUNNER_HEADERS = ("authorization",)


def build_settings(
    manifest: Manifest,
    located: Located,
    manifest_path: Path,
    out_dir: Path | None,
    env: Mapping[str, str],
) -> tuple[JobSettings, list[Problem]]:
    """JobSettings for a validated manifest, and the problems of values its schema cannot judge."""
    provider, problems = _provider(manifest.provider, located, env)
    name = manifest.name if manifest.name is not None else manifest_path.stem
    problems += _name_problems(name, located)
    problems += _poll_problems(manifest, located)
    output_dir = out_dir or (
        Path(manifest.output_dir) if manifest.output_dir else Path("out") / name
    )
    settings = JobSettings(
        name=name,
        manifest_path=manifest_path,
        output_dir=output_dir,
        provider=provider,
        concurrency=manifest.concurrency,
        max_pending_tasks=manifest.max_pending_tasks,
        rate_limit=manifest.rate_limit,
        budget_usd=manifest.budget_usd,
        retry=manifest.retry,
        poll=manifest.poll,
        download=manifest.download,
    )
    return settings, problems


def _provider(
    spec: ProviderSpec | str | None, located: Located, env: Mapping[str, str]
) -> tuple[ProviderConfig, list[Problem]]:
    default_url = env.get("OPENAI_BASE_URL") or OPENAI_BASE_URL
    if spec == "sim":
        return ProviderConfig(base_url=SIM_BASE_URL, api_key_env=None, sim={}), []
    if not isinstance(spec, ProviderSpec):
        problems = _url_problems(default_url, located, "OPENAI_BASE_URL")
        return ProviderConfig(base_url=default_url.rstrip("/")), problems
    is_sim = spec.sim is not None
    base_url = spec.base_url or (SIM_BASE_URL if is_sim else default_url)
    given_key_env = "api_key_env" in spec.given
    key_env = spec.api_key_env if given_key_env else (None if is_sim else DEFAULT_KEY_ENV)
    problems = _url_problems(base_url, located, None if spec.base_url else "OPENAI_BASE_URL")
    problems += _key_env_problems(key_env, located)
    problems += _header_problems(spec.headers, located)
    config = ProviderConfig(
        base_url=base_url.rstrip("/"),
        api_key_env=key_env,
        timeout_s=spec.timeout_s,
        headers=dict(spec.headers),
        sim=dict(spec.sim) if spec.sim is not None else None,
    )
    return config, problems


def _url_problems(url: str, located: Located, from_env: str | None) -> list[Problem]:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        return []
    shown = "" if "@" in url else f", got {url!r}"  # user:password@host must not be echoed
    source = f"${from_env} " if from_env else ""
    message = f"{source}must be an http(s) URL like {OPENAI_BASE_URL}{shown}"
    return [located.problem(("provider", "base_url"), message)]


def _key_env_problems(key_env: str | None, located: Located) -> list[Problem]:
    if key_env is None or _VAR_NAME.match(key_env):
        return []
    message = (
        "must be the NAME of the environment variable that holds the key (e.g. OPENAI_API_KEY), "
        "never the key itself"
    )
    return [located.problem(("provider", "api_key_env"), message)]


def _header_problems(headers: Mapping[str, str], located: Located) -> list[Problem]:
    return [
        located.problem(
            ("provider", "headers", name),
            "the runner sends Authorization from api_key_env; credentials do not belong in "
            "the manifest",
            of_key=True,
        )
        for name in headers
        if name.lower() in _RUNNER_HEADERS
    ]


def _name_problems(name: str, located: Located) -> list[Problem]:
    if name.strip() and name not in (".", "..") and not set(name) & {"/", "\\", "\x00"}:
        return []
    message = f"must be usable as a directory name (no slashes, not . or ..), got {name!r}"
    return [located.problem(("name",), message)]


def _poll_problems(manifest: Manifest, located: Located) -> list[Problem]:
    poll = manifest.poll
    if poll.max_interval_s >= poll.interval_s:
        return []
    message = f"must be >= poll.interval_s ({poll.interval_s:g}), got {poll.max_interval_s:g}"
    return [located.problem(("poll", "max_interval_s"), message)]
