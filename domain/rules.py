"""The version of leadkey's own decision rules, recorded with every decision.

The rules are the README's "Matching rules" and "Decisions": how a value becomes a key,
which payloads are dropped and why, and the limits below.  ``RULES_VERSION`` goes up
whenever a change to them can decide some payload differently, so that a decision
recorded under older rules is reported as such by a replay, not as corruption.

- 1: every decision recorded before leadkey recorded its rule version.
- 2: payload limits (size, nesting, fields, number digits); phone numbers of national
  length that are invalid at home are unusable, not foreign; two numbers in one field
  are unusable; text keys are ``NFC(casefold(NFD(s)))`` (Unicode canonical caseless
  match); email trims only whitespace and zero-width characters.
"""

from __future__ import annotations

import re

#: leadkey's rule version (see the module's docstring for what each one changed).
RULES_VERSION = 2

_RULES = re.compile(r"^leadkey rules (\d+); ")


def rules_version(normalizer: str | None) -> int:
    """The rule version a decision's recorded ``normalizer`` names (1 if it names none)."""
    match = _RULES.match(normalizer or "")
    return int(match.group(1)) if match else 1
