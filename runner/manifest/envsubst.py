"""``${VAR}`` and ``${VAR:-default}`` in manifest strings, with ``$${`` for a literal ``${``.

Expansion happens on the parsed YAML scalars (not the raw text), so a variable's value can never
change the document's structure and every problem keeps the position of its scalar.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PATTERN = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


class UnsetVariable(LookupError):
    """A ``${VAR}`` without a default names a variable that is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def expand(text: str, env: Mapping[str, str]) -> str:
    """``text`` with its variables replaced; raises UnsetVariable for the first unset one.

    ``${VAR:-default}`` uses the default when VAR is unset or empty; ``${VAR-default}`` only when
    it is unset (as in POSIX shells).
    """
    if "$" not in text:
        return text
    return _PATTERN.sub(lambda m: _replacement(m, env), text)


def _replacement(match: re.Match[str], env: Mapping[str, str]) -> str:
    name, operator, default = match.group(1), match.group(2), match.group(3)
    if name is None:
        return "${"
    value = env.get(name)
    if operator == ":-" and not value:
        return default
    if operator == "-" and value is None:
        return default
    if value is None:
        raise UnsetVariable(name)
    return value
