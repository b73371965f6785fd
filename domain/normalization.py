"""Identifier normalization: one pure function per identifier type.

Each function turns a raw value into the *key* used for matching, or raises
:class:`UnusableValue` with a human-readable reason.  The rules are written down in
the README ("Matching rules"); the tests pin every one of them.

Keys depend on the versions of ``phonenumbers`` (validity metadata),
``email-validator`` with ``idna`` (domains) and the Unicode database;
:data:`NORMALIZER_VERSIONS` names them, after leadkey's own rule version, so that every
recorded decision can say what it depended on.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import email_validator
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberFormat

from .memo import Memo
from .rules import RULES_VERSION

NORMALIZER_VERSIONS = (
    f"leadkey rules {RULES_VERSION}; "
    f"phonenumbers {phonenumbers.__version__}; "
    f"email-validator {email_validator.__version__}; "
    f"idna {version('idna')}; "
    f"unicode {unicodedata.unidata_version}"
)

#: Longest phone input considered; anything longer is not one phone number.
MAX_PHONE_INPUT = 64
#: Longest email address (RFC 5321 path limit); longer input is never cached.
MAX_EMAIL_INPUT = 254
#: Regions a workspace may use as its default country.
SUPPORTED_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)

_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_TEL_PREFIX = re.compile(r"^tel:", re.IGNORECASE)
_EXTENSION = re.compile(
    r"(?:\s*;\s*ext=|\s*(?:ext\.?|extension|x|#|,)\s*)\d{1,20}#?$", re.IGNORECASE
)
_IDD_PREFIXES = ("00", "011")
_LETTER = re.compile(r"[^\W\d_]")
_SEPARATORS = str.maketrans("", "", " \t\u00a0-.()")


class UnusableValue(ValueError):
    """A value that cannot be turned into a key; ``reason`` says why."""

    def __init__(self, reason: str, *, empty: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.empty = empty


@dataclass(frozen=True, slots=True)
class EmailValue:
    """A usable email: the value to store (trimmed, as sent) and its matching key."""

    display: str
    key: str


#: Results of the costly normalizers (phonenumbers, email-validator) kept per process.
_PHONE_MEMO: Memo[tuple[str, str], tuple[str | None, str | None]] = Memo(1 << 17)
_EMAIL_MEMO: Memo[str, tuple[str | None, str | None]] = Memo(1 << 17)
_MEMOS = {"phone": _PHONE_MEMO, "email": _EMAIL_MEMO}

#: New memo entries by memo name: what a process normalizing ahead sends to another.
Journal = dict[str, list[tuple[Any, Any]]]


def _strip(raw: object, kind: str) -> str:
    if not isinstance(raw, str):
        raise UnusableValue(f"a {kind} must be a JSON string, not {_json_type(raw)}")
    value = raw.strip().strip(_INVISIBLE).strip()
    if not value:
        raise UnusableValue(f"the {kind} is empty", empty=True)
    return value


def _json_type(raw: object) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, int | float):
        return "a number"
    if isinstance(raw, list):
        return "an array"
    if isinstance(raw, dict):
        return "an object"
    return type(raw).__name__


def phone_key(raw: object, region: str) -> str:
    """Return the E.164 key (``+919999999999``) of a phone number.

    ``region`` is the workspace's default country (ISO 3166 alpha-2, upper case); it
    completes numbers written without a country code.  Spaces, tabs, dashes, dots and
    parentheses are removed first (they never change the number).  Raises :class:`UnusableValue`
    when the value is not a string, is empty, contains letters, or is not a number
    that phonenumbers considers valid.
    """
    value = _strip(raw, "phone number").translate(_SEPARATORS)
    if len(value) > MAX_PHONE_INPUT:
        raise UnusableValue(f"longer than {MAX_PHONE_INPUT} characters")
    memo_key = (value, region)
    result = _PHONE_MEMO.get(memo_key)
    if result is None:
        result = _phone_result(value, region)
        _PHONE_MEMO.put(memo_key, result)
    key, reason = result
    if key is None:
        raise UnusableValue(reason or "not a valid phone number")
    return key


def _phone_result(value: str, region: str) -> tuple[str | None, str | None]:
    value = _EXTENSION.sub("", _TEL_PREFIX.sub("", value))
    if _LETTER.search(value):
        return None, "contains letters"
    if value[:1] in ("+", "\uff0b"):
        number = _parse(value, None)
        if number is None or not phonenumbers.is_valid_number(number):
            return None, "not a valid international phone number"
        return _e164(number), None
    number = _parse(value, region)
    if number is not None and phonenumbers.is_valid_number(number):
        return _e164(number), None
    digits = phonenumbers.normalize_digits_only(value)
    for idd in _IDD_PREFIXES:
        if digits.startswith(idd):
            digits = digits[len(idd) :]
            break
    if digits and digits[0] != "0":
        number = _parse("+" + digits, None)
        if number is not None and phonenumbers.is_valid_number(number):
            return _e164(number), None
    return None, f"not a valid phone number for default country {region}"


def _parse(value: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(value, region)
    except NumberParseException:
        return None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def email_key(raw: object) -> EmailValue:
    """Return the trimmed email and its key: local part case-folded, domain in ASCII.

    Syntax is checked with email-validator (no DNS).  Raises :class:`UnusableValue`
    for a non-string, an empty string or an invalid address.
    """
    value = _strip(raw, "email address")
    if len(value) > MAX_EMAIL_INPUT:
        raise UnusableValue(f"not a valid email address: longer than {MAX_EMAIL_INPUT} characters")
    result = _EMAIL_MEMO.get(value)
    if result is None:
        result = _email_result(value)
        _EMAIL_MEMO.put(value, result)
    key, reason = result
    if key is None:
        raise UnusableValue(reason or "not a valid email address")
    return EmailValue(display=value, key=key)


def _email_result(value: str) -> tuple[str | None, str | None]:
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        return None, f"not a valid email address: {error}"
    local = unicodedata.normalize("NFC", checked.local_part.casefold())
    return f"{local}@{checked.ascii_domain}", None


def text_key(raw: object) -> str:
    """Return the key of a text identifier: NFC, case-folded, NFC again.

    Whitespace is kept as sent (``"CUST-1 "`` and ``"CUST-1"`` are different keys);
    a string that is empty or only whitespace is unusable.
    """
    if not isinstance(raw, str):
        raise UnusableValue(f"a text identifier must be a JSON string, not {_json_type(raw)}")
    if not raw.strip():
        raise UnusableValue("the text identifier is empty", empty=True)
    return fold_text(raw)


def fold_text(value: str) -> str:
    """Case-insensitive, otherwise character-for-character form of ``value``."""
    if value.isascii():  # NFC leaves ASCII as it is, and casefold is lower there
        return value.lower()
    nfc = unicodedata.normalize
    return nfc("NFC", nfc("NFC", value).casefold())


def keep_journal(keep: bool = True) -> None:
    """From now on, note every new normalization result of this process (for
    :func:`take_journal`), or stop noting them: a worker normalizing ahead of another
    process keeps one."""
    for memo in _MEMOS.values():
        if not keep:
            memo.journal = None
        elif memo.journal is None:
            memo.journal = []


def take_journal() -> Journal:
    """The normalization results noted since the last call (see :func:`keep_journal`)."""
    journal: Journal = {}
    for name, memo in _MEMOS.items():
        if memo.journal:
            journal[name], memo.journal = memo.journal, []
    return journal


def prime(journal: Journal) -> None:
    """Memoize results another process computed with these same functions, so that
    normalizing those values here costs a lookup."""
    for name, entries in journal.items():
        if name in _MEMOS:
            _MEMOS[name].prime(entries)


def forget() -> None:
    """Empty the memos (benchmarks start cold with it)."""
    for memo in _MEMOS.values():
        memo.clear()
