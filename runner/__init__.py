"""runner: an async batch job runner for OpenAI-compatible image generation APIs.

The Python API mirrors the CLI: ``from runner import plan, run, status`` (see runner.api).
Those names load lazily, so importing one layer (``runner.client``, ``runner.sim``) does not drag
in the others.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RunResult", "UserError", "load", "plan", "run", "status"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from runner import api

        return getattr(api, name)
    raise AttributeError(f"module 'runner' has no attribute {name!r}")
