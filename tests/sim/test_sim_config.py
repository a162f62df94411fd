"""SimConfig.from_options: a manifest's `provider.sim` mapping, and the errors naming its keys."""

from __future__ import annotations

from typing import Any

import pytest

from runner.sim import SimConfig, SimOptionError


def test_from_options_builds_every_kind_of_field() -> None:
    """Numbers, optional numbers, strings and a force_async list all land in their fields."""
    config = SimConfig.from_options(
        {
            "seed": 3,
            "fail_rate": 0.25,
            "latency_s": 1,
            "outage_start_s": 5,
            "rps_limit": 20,
            "api_key": "sk-sim",
            "force_async": ["dall-e-3", "flux-schnell"],
            "image_origin": "other",
        }
    )
    assert config == SimConfig(
        seed=3,
        fail_rate=0.25,
        latency_s=1.0,
        outage_start_s=5.0,
        rps_limit=20.0,
        api_key="sk-sim",
        force_async=frozenset({"dall-e-3", "flux-schnell"}),
        image_origin="other",
    )


def test_from_options_accepts_numeric_strings_from_variable_substitution() -> None:
    """`${VAR}` expansion yields strings, so '0.1' and '7' are read as numbers."""
    config = SimConfig.from_options({"fail_rate": "0.1", "seed": "7", "rps_limit": None})
    assert (config.fail_rate, config.seed, config.rps_limit) == (0.1, 7, None)


def test_empty_options_are_the_defaults() -> None:
    """`provider: sim` with no options is the default configuration."""
    assert SimConfig.from_options({}) == SimConfig()


def test_unknown_option_suggests_the_closest_name() -> None:
    """A typo names the key and the option it probably meant."""
    with pytest.raises(SimOptionError) as caught:
        SimConfig.from_options({"fial_rate": 0.1})
    assert str(caught.value) == "unknown simulator option 'fial_rate' (did you mean 'fail_rate'?)"


def test_unknown_option_without_a_close_match_has_no_hint() -> None:
    """Nothing resembling a known option: the message only names the key."""
    with pytest.raises(SimOptionError, match=r"^unknown simulator option 'zzz'$"):
        SimConfig.from_options({"zzz": 1})


@pytest.mark.parametrize("value", [1.5, -0.1, "lots", True, None])
def test_rates_must_be_numbers_between_0_and_1(value: Any) -> None:
    """Out-of-range, non-numeric and boolean shares are refused, naming the key."""
    with pytest.raises(SimOptionError) as caught:
        SimConfig.from_options({"fail_rate": value})
    assert str(caught.value) == "sim option 'fail_rate' must be a number between 0 and 1"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"latency_s": -1}, "sim option 'latency_s' must be a number of seconds >= 0"),
        ({"outage_start_s": "soon"}, "sim option 'outage_start_s' must be a number of seconds"),
        ({"rps_limit": 0}, "sim option 'rps_limit' must be a number > 0"),
        ({"url_ttl_s": -5}, "sim option 'url_ttl_s' must be a number > 0"),
        ({"seed": 1.5}, "sim option 'seed' must be an integer"),
        ({"force_async": [1, 2]}, "sim option 'force_async' must be a list of model names"),
        ({"image_origin": "cdn"}, "sim option 'image_origin' must be 'same' or 'other'"),
        ({"api_key": 123}, "sim option 'api_key' must be a string"),
    ],
)
def test_bad_values_name_their_key(options: dict[str, Any], message: str) -> None:
    """Each kind of field refuses a wrong value with a message naming the key."""
    with pytest.raises(SimOptionError, match=message):
        SimConfig.from_options(options)


def test_post_fault_shares_cannot_add_up_past_one() -> None:
    """429, 503, 500 and malformed split one draw, so their sum must stay within 1."""
    with pytest.raises(SimOptionError, match="must add up to at most 1"):
        SimConfig.from_options({"fail_rate": 0.6, "rate_429": 0.5})


def test_direct_construction_is_checked_too() -> None:
    """The CLI builds SimConfig directly; the same range checks apply."""
    with pytest.raises(SimOptionError, match="'fail_rate'"):
        SimConfig(fail_rate=2.0)


def test_options_must_be_a_mapping() -> None:
    """`provider.sim` given as a list is refused."""
    with pytest.raises(SimOptionError, match="mapping"):
        SimConfig.from_options(["fail_rate"])  # type: ignore[arg-type]
