"""The version of leadkey's own decision rules, recorded with every decision.

The rules are the README's "Matching rules" and "Decisions": how a value becomes a key,
which payloads are dropped and why, and the payload limits.  ``RULES_VERSION`` goes up
whenever a change to them can decide some payload differently, so that a decision
recorded under older rules is reported as such by a replay, not as corruption.

- 1: every decision recorded before leadkey recorded its rule version.
- 2: payload limits (size, nesting, fields, number length); phone digits that could be
  a national number but are invalid at home are unusable, not foreign; the default
  country's calling code without ``+`` before a valid national number is read as that
  number (where the country has a trunk prefix); two numbers in one field are
  unusable; text keys, and the local part of email keys, are ``NFC(casefold(NFD(s)))``
  (Unicode canonical caseless match); emails and phones are trimmed of whitespace and
  zero-width characters only, and an email with any other control character is
  unusable; a date in epoch milliseconds is converted exactly (it could be a
  millisecond off for dates far from 1970).
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
