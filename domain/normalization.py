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
from functools import cache
from importlib.metadata import version

import email_validator
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import (
    ATEXT,
    DNS_LABEL_LENGTH_LIMIT,
    EMAIL_MAX_LENGTH,
)
from phonenumbers import NumberParseException, PhoneNumberFormat

from .errors import UnusableValue
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

#: Whitespace, exactly: tab, LF, VT, FF, CR and the Unicode space (Zs), line (Zl) and
#: paragraph (Zp) separators - Unicode's White_Space characters except U+0085 (NEL), a
#: C1 control character (and what a Windows-1252 "…" becomes when misread as Latin-1).
#: It is trimmed around phones and emails; a text identifier made only of it is empty.
#: (``str.strip()`` would also remove the control characters U+001C-U+001F and U+0085.)
_WHITESPACE = (
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
#: Zero-width characters that copy-paste leaves around a value; trimmed with whitespace.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
#: A control character (general category Cc: U+0000-U+001F, U+007F-U+009F).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TEL_PREFIX = re.compile(r"^tel:", re.IGNORECASE)
#: A trailing extension, once whitespace and separators are removed (``x12``, ``ext.12``
#: becomes ``ext12``, ``;ext=12``, ``#12``, ``,12``).
_EXTENSION = re.compile(r"(?:;ext=|ext|extension|x|#|,)\d{1,20}#?$", re.IGNORECASE)
#: International prefixes read in any workspace, but only before digits that cannot be a
#: national number there (the default country's own prefix comes from phonenumbers).
_IDD_PREFIXES = ("00", "011")
#: A trailing ``,`` or ``x`` and more digits: an extension, or a second phone number.
_SECOND_NUMBER = re.compile(r"\d[,x](\+?)(\d+)$", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
#: Removed from a phone value before it is read: whitespace, dashes, dots, parentheses.
_SEPARATORS = str.maketrans("", "", _WHITESPACE + "-.()")


@dataclass(frozen=True, slots=True)
class EmailValue:
    """A usable email: the value to store (trimmed, as sent) and its matching key."""

    display: str
    key: str


#: Results of the costly normalizers (phonenumbers, email-validator) kept per process.
_PHONE_MEMO: Memo[tuple[str, str], tuple[str | None, str | None]] = Memo(1 << 17)
_EMAIL_MEMO: Memo[str, tuple[str | None, str | None]] = Memo(1 << 17)


def _strip(raw: object, kind: str) -> str:
    if not isinstance(raw, str):
        article = "an" if kind[0] in "aeiou" else "a"
        raise UnusableValue(f"{article} {kind} must be a JSON string, not {_json_type(raw)}")
    value = raw.strip(_WHITESPACE).strip(_INVISIBLE).strip(_WHITESPACE)
    if not value:
        raise UnusableValue(f"the {kind} is empty", empty=True)
    return value


def _refuse_control(value: str, context: str) -> None:
    control = _CONTROL.search(value)
    if control is not None:
        code = f"U+{ord(control.group()):04X}"
        raise UnusableValue(f"{context}contains a control character {code}")


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
    when the value is not a string, is empty, contains letters or two numbers, or is not a
    number that phonenumbers considers valid; digits that could be a national number of
    ``region`` are never read as a foreign one (README, "Matching rules", Phone).
    """
    value = _strip(raw, "phone number").translate(_SEPARATORS)
    _refuse_control(value, "")
    if len(value) > MAX_PHONE_INPUT:
        raise UnusableValue(f"longer than {MAX_PHONE_INPUT} characters")
    key = _plain_phone_key(value, region)
    if key is not None:
        return key
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
    value = _TEL_PREFIX.sub("", value)
    plan = _plan(region)
    second = _SECOND_NUMBER.search(value)
    if second is not None and (second.group(1) or len(second.group(2)) >= plan.shortest):
        return None, "two phone numbers in one field"
    value = _EXTENSION.sub("", value)
    if _LETTER.search(value):
        return None, "contains letters"
    if value[:1] in ("+", "\uff0b"):
        number = _parse(value, None)
        if number is None or not phonenumbers.is_valid_number(number):
            return None, "not a valid international phone number"
        return _e164(number), None
    digits = phonenumbers.normalize_digits_only(value)
    own = _own_country_reading(digits, plan)
    if own is not None and plan.trunk:  # written with a trunk prefix, national digits are
        return own, None  # rarely bare: 49 + a German number is that number (README)
    number = _parse(value, region)
    if number is not None and phonenumbers.is_valid_number(number):
        return _e164(number), None
    if own is not None:
        return own, None
    rest = _international_reading(digits, plan)
    number = None if rest is None else _parse("+" + rest, None)
    if number is not None and phonenumbers.is_valid_number(number):
        return _e164(number), None
    return None, f"not a valid phone number for default country {region}"


#: A number description of phonenumbers' metadata: its possible lengths and its pattern
#: (None: the description is absent or has no pattern, so no number matches it).
_Desc = tuple[frozenset[int], re.Pattern[str]] | None


@dataclass(frozen=True, slots=True)
class _Numbering:
    """How phonenumbers reads and validates numbers of a country calling code that only
    one supported region has, from its metadata: what :func:`_plain_phone_key` uses."""

    country_code: str
    idd: re.Pattern[str]  # the international prefix dialled from there
    idd_digits: str  # the same where it is one string of digits ("" where it is not)
    national_prefix: re.Pattern[str] | None  # what parsing strips as a trunk prefix
    plain_prefix: bool  # it carries no carrier code and is not transformed
    local_only: frozenset[int]  # lengths of numbers dialled only locally (in general)
    general: _Desc
    types: tuple[_Desc, ...]  # fixed line, mobile, premium rate ...: any makes it valid


def _plain_phone_key(value: str, region: str) -> str | None:
    """The key of a plain number: ASCII digits, or ``+`` and ASCII digits, whose country
    calling code only one supported region has, perhaps after the default country's
    international prefix in place of ``+`` (where it is one string of digits, such as
    ``00``), perhaps with a plain trunk prefix, and no leading ``0`` after it, that is
    valid: the key phonenumbers gives it (its parse, ``is_valid_number`` and E.164),
    found from phonenumbers' own metadata, compiled once.  The default country's calling code
    written without ``+`` is read as with it where the country has a trunk prefix (the
    full path's own-country reading, which wins there).  None for anything else, which
    takes the full path (a differential test and ``bench/fast_paths.py`` hold the two
    to the same keys)."""
    if not value.isascii():
        return None
    if value[:1] == "+":
        numbering, national = _calling_code(value[1:])
    else:
        if not value.isdigit():
            return None
        numbering = _numbering(_plan_code(region))
        if numbering is None:
            return None
        if value.startswith(numbering.country_code):
            own, national = _calling_code(value) if _plan(region).trunk else (None, "")
            if own is not numbering:
                return None
        elif numbering.idd_digits and value.startswith(numbering.idd_digits):
            # (a 0 after it is no calling code: phonenumbers reads no prefix at all)
            numbering, national = _calling_code(value[len(numbering.idd_digits) :])
        elif numbering.idd.match(value):
            return None
        else:
            national = value
    if numbering is None:
        return None
    trunk = numbering.national_prefix.match(national) if numbering.national_prefix else None
    if trunk is not None:
        national = _after_trunk(national, trunk.end(), numbering)
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return None
    if not _valid_national(national, numbering):
        return None
    return f"+{numbering.country_code}{national}"


def _after_trunk(national: str, end: int, numbering: _Numbering) -> str:
    """The national number after its trunk prefix (which ends at ``end``) as phonenumbers'
    parse strips it (``_maybe_strip_national_prefix_and_carrier_code``, then the length
    test that decides whether the stripped number is kept), for a valid one, where the
    prefix is plain; "" where the full path must decide."""
    stripped = national[end:]
    if not numbering.plain_prefix or len(stripped) in numbering.local_only:
        return ""  # (a length dialled only locally: parse keeps the prefix)
    return stripped  # (parse's other reasons to keep it fail the validity that follows)


def _calling_code(digits: str) -> tuple[_Numbering | None, str]:
    """How phonenumbers reads digits after ``+``: its calling code (the shortest prefix
    that is one; None: none, or one that is not a single supported region's), and the
    national number after it."""
    if len(digits) < 3 or not digits.isdigit() or digits[0] == "0":
        return None, ""
    size = next((n for n in (1, 2, 3) if int(digits[:n]) in _CALLING_CODES), 0)
    return (_numbering(int(digits[:size])) if size else None), digits[size:]


#: The number types phonenumbers' ``_number_type_helper`` checks (a number of any of
#: them is valid; mobile only where its pattern is not the fixed line's), the most
#: common first.
_TYPES = (
    "fixed_line",
    "mobile",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
#: phonenumbers' country calling codes, each with its regions.
_CALLING_CODES = phonenumbers.COUNTRY_CODE_TO_REGION_CODE


@cache
def _plan_code(region: str) -> int:
    return int(_plan(region).country_code)


@cache
def _numbering(country_code: int) -> _Numbering | None:
    regions = _CALLING_CODES.get(country_code, ())
    if len(regions) != 1 or regions[0] not in SUPPORTED_REGIONS:
        return None
    m = phonenumbers.PhoneMetadata.metadata_for_region(regions[0])
    idd = m.international_prefix if m is not None else None
    if m is None or idd is None:
        return None

    def desc(number_desc: phonenumbers.PhoneNumberDesc | None) -> _Desc:
        if number_desc is None or not number_desc.national_number_pattern:
            return None
        return frozenset(number_desc.possible_length), re.compile(
            number_desc.national_number_pattern
        )

    parsing = m.national_prefix_for_parsing
    prefix = re.compile(parsing) if parsing else None
    return _Numbering(
        country_code=str(country_code),
        idd=re.compile(idd),
        idd_digits=idd if idd.isdigit() else "",
        national_prefix=prefix,
        plain_prefix=prefix is not None
        and not prefix.groups
        and not m.national_prefix_transform_rule,
        local_only=frozenset(m.general_desc.possible_length_local_only if m.general_desc else ()),
        general=desc(m.general_desc),
        types=tuple(
            desc(getattr(m, name))
            for name in _TYPES
            if not (name == "mobile" and m.same_mobile_and_fixed_line_pattern)
        ),
    )


def _valid_national(national: str, numbering: _Numbering) -> bool:
    """Whether phonenumbers' type of the national number is not UNKNOWN (its
    ``_number_type_helper``): the general description and some type's match."""
    if not _matches(national, numbering.general):
        return False
    return any(_matches(national, d) for d in numbering.types)


def _matches(national: str, desc: _Desc) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a default country's phonenumbers metadata says about its national numbers."""

    country_code: str
    trunk: str  # the trunk (national) prefix, "" if none
    longest: int  # digits of its longest fixed-line or mobile number (0: unknown)
    shortest: int  # digits of its shortest mobile number: a second number has as many
    general: re.Pattern[str] | None  # the pattern every national number matches
    leading: tuple[re.Pattern[str], ...]  # how its numbers start (per number format)


@cache
def _plan(region: str) -> _Plan:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:  # workspaces take only supported regions (check_country)
        raise ValueError(f"no phone number metadata for region {region!r}")
    general = metadata.general_desc
    if general is None:  # (every region's metadata has one)
        raise ValueError(f"no general phone number description for region {region!r}")

    def lengths(*descs: phonenumbers.PhoneNumberDesc | None) -> list[int]:
        found = [n for d in descs if d is not None for n in d.possible_length if n > 0]
        return found or [n for n in general.possible_length if n > 0] or [0]

    return _Plan(
        country_code=str(metadata.country_code),
        trunk=metadata.national_prefix or "",
        longest=max(lengths(metadata.fixed_line, metadata.mobile)),
        shortest=min(lengths(metadata.mobile)),
        general=re.compile(general.national_number_pattern)
        if general.national_number_pattern
        else None,
        leading=tuple(
            re.compile(f.leading_digits_pattern[-1] if f.leading_digits_pattern else "")
            for f in metadata.number_format
        ),
    )


def _own_country_reading(digits: str, plan: _Plan) -> str | None:
    """The key of ``digits`` read as the default country's calling code (without ``+``)
    and a valid number of that country, or None."""
    if not digits.startswith(plan.country_code):
        return None
    number = _parse("+" + digits, None)
    if (
        number is None
        or str(number.country_code) != plan.country_code
        or not phonenumbers.is_valid_number(number)
    ):
        return None
    return _e164(number)


def _international_reading(digits: str, plan: _Plan) -> str | None:
    """The digits to read as ``+digits`` when no reading in the default country is valid,
    or None where they could be a national number of the default country (they are then
    unusable, not foreign): only more digits than its fixed-line and mobile numbers have
    (after a trunk prefix), or a leading ``00`` / ``011`` where its national numbers
    cannot start so (``00`` in the US, ``011`` in DE; not ``011`` in IN, which is Delhi),
    make them international.  (The country's own international prefix is read by
    ``phonenumbers`` already, in the default country.)
    """
    prefix = next((p for p in _IDD_PREFIXES if digits.startswith(p)), "")
    national = digits[len(plan.trunk) :] if plan.trunk and digits.startswith(plan.trunk) else digits
    if len(national) > plan.longest or (prefix and not _may_be_national(national, plan)):
        return digits[len(prefix) :]
    return None


def _may_be_national(national: str, plan: _Plan) -> bool:
    """Whether digits (trunk prefix removed) look like a national number of the default
    country: they match its general pattern, and start as one of its number formats."""
    if plan.general is not None and plan.general.fullmatch(national) is None:
        return False
    return not plan.leading or any(p.match(national) for p in plan.leading)


def _parse(value: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(value, region)
    except NumberParseException:
        return None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def email_key(raw: object) -> EmailValue:
    """Return the trimmed email and its key: local part case-folded, domain in ASCII.

    Only whitespace (:data:`_WHITESPACE`) and zero-width characters are trimmed; a
    control character left after that (U+001F, U+0085, a tab inside...) makes the value
    unusable.  Syntax is checked with email-validator (no DNS).  The local part is
    folded as text is (:func:`fold_text`).  Raises :class:`UnusableValue` for a
    non-string, an empty string or an invalid address.
    """
    value = _strip(raw, "email address")
    _refuse_control(value, "not a valid email address: ")
    if len(value) > MAX_EMAIL_INPUT:
        raise UnusableValue(f"not a valid email address: longer than {MAX_EMAIL_INPUT} characters")
    key = _plain_email_key(value)
    if key is not None:
        return EmailValue(display=value, key=key)
    result = _EMAIL_MEMO.get(value)
    if result is None:
        result = _email_result(value)
        _EMAIL_MEMO.put(value, result)
    key, reason = result
    if key is None:
        raise UnusableValue(reason or "not a valid email address")
    return EmailValue(display=value, key=key)


#: A plain ASCII address: a dot-atom local part (email-validator's own atext) and a
#: domain of two or more hostname labels of at most 63 characters, none with ``--`` as
#: its third and fourth characters (Punycode ``xn--`` and what email-validator refuses
#: for it), ending with a letter.
_PLAIN_LABEL = (
    f"(?![A-Za-z0-9-]{{2}}--)[A-Za-z0-9](?:[A-Za-z0-9-]{{0,{DNS_LABEL_LENGTH_LIMIT - 2}}}"
    "[A-Za-z0-9])?"
)
_PLAIN_EMAIL = re.compile(
    f"[{ATEXT}]+(?:\\.[{ATEXT}]+)*@((?:{_PLAIN_LABEL}\\.)+{_PLAIN_LABEL})", re.ASCII
)
#: Domains email-validator refuses as special-use, with their subdomains.
_SPECIAL_USE = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def _plain_email_key(value: str) -> str | None:
    """The key of a plain ASCII address (:data:`_PLAIN_EMAIL`), computed without
    email-validator, which gives the same key for every such address (a differential
    test and ``bench/fast_paths.py`` hold it to that); None for anything else, which
    goes to email-validator."""
    if len(value) > EMAIL_MAX_LENGTH or not value.isascii():
        return None
    match = _PLAIN_EMAIL.fullmatch(value)
    if match is None:
        return None
    domain = match.group(1).lower()
    if not domain[-1].isalpha():  # (254 characters in all: the domain fits its 253)
        return None
    if _special_use(domain):
        return None
    local = value[: match.start(1) - 1]
    return f"{local.lower()}@{domain}"


def _special_use(domain: str) -> bool:
    """Whether email-validator refuses ``domain`` as a special-use name or a subdomain of
    one."""
    while domain not in _SPECIAL_USE:
        dot = domain.find(".")
        if dot < 0:
            return False
        domain = domain[dot + 1 :]
    return True


def _email_result(value: str) -> tuple[str | None, str | None]:
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        return None, f"not a valid email address: {error}"
    local = fold_text(checked.local_part)
    return f"{local}@{checked.ascii_domain}", None


def text_key(raw: object) -> str:
    """Return the key of a text identifier: :func:`fold_text` of the value as sent.

    Nothing is trimmed: whitespace is kept (``"CUST-1 "`` and ``"CUST-1"`` are different
    keys).  A string that is empty or only whitespace (:func:`is_blank`) is unusable.
    """
    if not isinstance(raw, str):
        raise UnusableValue(f"a text identifier must be a JSON string, not {_json_type(raw)}")
    if is_blank(raw):
        raise UnusableValue("the text identifier is empty", empty=True)
    return fold_text(raw)


def is_blank(value: str) -> bool:
    """Whether ``value`` is empty or only whitespace (:data:`_WHITESPACE`; zero-width
    and control characters are not whitespace)."""
    return not value.strip(_WHITESPACE)


def fold_text(value: str) -> str:
    """Case-insensitive, otherwise character-for-character form of ``value``:
    ``NFC(casefold(NFD(value)))``.

    Two values fold alike exactly when they are canonical caseless matches (Unicode
    D145: ``NFD(casefold(NFD(a))) == NFD(casefold(NFD(b)))``): NFC and NFD both pick one
    representative of a canonical-equivalence class, so ``NFC(x) == NFC(y)`` if and
    only if ``NFD(x) == NFD(y)``.  Decomposing first matters: ``NFC`` before casefold
    composes U+0345 (ypogegrammeni) into a letter whose folding then lands elsewhere.
    """
    if value.isascii():  # NFD and NFC leave ASCII as it is, and casefold is lower there
        return value.lower()
    normalize = unicodedata.normalize
    return normalize("NFC", normalize("NFD", value).casefold())


def forget() -> None:
    """Empty the memos (benchmarks start cold with it)."""
    _PHONE_MEMO.clear()
    _EMAIL_MEMO.clear()
