"""The model catalog (what each image model accepts) and pricing (what it costs).

The data lives in models.yaml beside this package, each entry with its source.
"""

from runner.catalog.load import catalog_digest, known_models, lookup, runner_rejects
from runner.catalog.pricing import Estimate, PriceOverride, Pricer, text_tokens
from runner.catalog.sizes import size_problem, size_request_params
from runner.catalog.spec import CatalogError, Mode, ModelSpec, ParamSpec, PriceSpec, SizeParam

__all__ = [
    "CatalogError",
    "Estimate",
    "Mode",
    "ModelSpec",
    "ParamSpec",
    "PriceOverride",
    "PriceSpec",
    "Pricer",
    "SizeParam",
    "catalog_digest",
    "known_models",
    "lookup",
    "runner_rejects",
    "size_problem",
    "size_request_params",
    "text_tokens",
]
