"""Hypothesis strategies for leadkey identifiers and Async API payloads.

Import them in your own property tests::

    from leadkey.adapters.strategies import phone_spellings, valid_phone_numbers

Every strategy here is built from phonenumbers / email-validator / Unicode facts, not from
leadkey's own normalizers, so tests that use them check leadkey rather than restate it.
Spellings are limited to those that leadkey's documented rules read unambiguously (see
:func:`phone_spellings`); everything else a payload may carry is labelled with what the
rules make of it (see :class:`LabelledPayload`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType

try:
    from hypothesis import assume
    from hypothesis import strategies as st
    from hypothesis.strategies import DrawFn, SearchStrategy
except ImportError as error:  # hypothesis is an optional dependency of leadkey
    raise ModuleNotFoundError(
        "leadkey.adapters.strategies needs hypothesis: pip install 'leadkey[testing]'",
        name="hypothesis",
    ) from error

__all__ = [
    "CASE_PAIRS",
    "PHONE_REGIONS",
    "UNUSABLE_EMAILS",
    "UNUSABLE_PHONES",
    "WORKSPACE_FIELDS",
    "Expected",
    "LabelledPayload",
    "LeadPool",
    "email_variants",
    "emails",
    "labelled_payload_streams",
    "labelled_payloads",
    "lead_pools",
    "payload_streams",
    "payloads",
    "phone_spellings",
    "text_ids",
    "text_variants",
    "valid_phone_numbers",
]

# -- phones ------------------------------------------------------------------------

_NUMBER_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)

#: Regions with an example mobile or fixed-line number (the regions drawn by default).
PHONE_REGIONS: tuple[str, ...] = tuple(
    sorted(
        region
        for region in phonenumbers.SUPPORTED_REGIONS
        if any(phonenumbers.example_number_for_type(region, t) for t in _NUMBER_TYPES)
    )
)

#: Phone values no workspace can use: letters, an invalid ``+`` number, no digits.
UNUSABLE_PHONES: tuple[str, ...] = (
    "N/A",
    "call me",
    "99999OOOOO",
    "1-800-FLOWERS",
    "+91 99999 99999 (mobile)",
    "+91999999999",
    "+0091 99999 99999",
    "+",
    "--",
)

_SEPARATORS = ("", " ", "-", ".", "  ", " - ")
_PADDING = (" ", "\t", "\n", "\r\n", "\xa0", "\u3000")
_INVISIBLE = ("\u200b", "\ufeff")
_EXTENSIONS = (" x12", " ext. 5", " ext 77", " extension 45", "#7", ";ext=9", ",123", " # 42")
_DIGIT_ZEROS = {
    "ascii": "0",
    "fullwidth": "\uff10",
    "arabic-indic": "\u0660",
    "persian": "\u06f0",
    "devanagari": "\u0966",
}
_MAX_PHONE_CORE = 64


@lru_cache(maxsize=256)
def _sampled(options: tuple[Any, ...]) -> SearchStrategy[Any]:
    """One strategy object per option tuple: building strategies per draw is slow."""
    return st.sampled_from(options)


@lru_cache(maxsize=64)
def _below(n: int) -> SearchStrategy[int]:
    return st.integers(0, n - 1)


_BOOLEANS = st.booleans()
_GROUP_SIZE = st.integers(1, 5)
_PAD_OUTER = st.lists(st.sampled_from(_PADDING), max_size=2).map("".join)
_PAD_INVISIBLE = st.lists(st.sampled_from(_INVISIBLE), max_size=1).map("".join)
_PAD_INNER = st.lists(st.sampled_from(_PADDING), max_size=1).map("".join)
_NUMBER_TYPE = st.sampled_from(_NUMBER_TYPES)
_ALL_REGIONS = st.sampled_from(PHONE_REGIONS)


@st.composite
def valid_phone_numbers(
    draw: DrawFn, regions: Sequence[str] | SearchStrategy[str] | None = None
) -> tuple[str, str]:
    """Draw ``(region, e164)`` for a number phonenumbers calls valid.

    Starts from the region's example mobile or fixed-line number and re-rolls its last
    1-4 digits (rejecting invalid results).  ``region`` is the region the number belongs
    to (the example's region, or the one phonenumbers assigns the re-rolled number).
    """
    if regions is None:
        region = draw(_ALL_REGIONS)
    elif isinstance(regions, SearchStrategy):
        region = draw(regions)
    else:
        region = draw(_sampled(tuple(regions)))
    example = phonenumbers.example_number_for_type(region, draw(_NUMBER_TYPE))
    assume(example is not None)
    nsn = phonenumbers.national_significant_number(example)
    k = 1 + draw(_below(max(1, min(4, len(nsn) - 1))))
    tail = "".join(str(draw(_below(10))) for _ in range(k))
    try:
        number = phonenumbers.parse(f"+{example.country_code}{nsn[:-k]}{tail}", None)
    except phonenumbers.NumberParseException:  # pragma: no cover - cc and digits are fine
        assume(False)
        raise
    assume(phonenumbers.is_valid_number(number))
    home = phonenumbers.region_code_for_number(number) or region
    return home, phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _regroup(draw: DrawFn, digits: str, *, parens: bool = True) -> str:
    """``digits`` cut into random groups joined by random separators."""
    groups: list[str] = []
    rest = digits
    while rest:
        size = draw(_GROUP_SIZE)
        groups.append(rest[:size])
        rest = rest[size:]
    if parens and len(groups) > 1 and draw(_below(4)) == 0:
        i = draw(_below(len(groups) - 1))
        groups[i] = f"({groups[i]})"
    out = groups[0]
    for group in groups[1:]:
        out += draw(_sampled(_SEPARATORS)) + group
    return out


def _idd_00_reads_as_plus(region: str, digits: str) -> bool:
    """Whether ``00`` + ``digits`` (cc + nsn) typed in ``region`` means ``+digits``.

    True when the region's international prefix, as phonenumbers matches it, is exactly
    ``00`` at the front (so the rest is read as cc + nsn), or for NANP regions, whose
    national numbers never start with 0 (so only the ``00`` reading fits).  False for
    regions such as CO, TH or BR, where ``005``, ``0066`` or ``0055`` is itself a longer
    (carrier-selecting) prefix, and for regions that do not dial ``00`` at all.
    """
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return False
    if metadata.country_code == 1:
        return True
    if not metadata.international_prefix:
        return False
    match = re.match(metadata.international_prefix, "00" + digits)
    return match is not None and match.end() == 2


def _cc_nsn_unambiguous(number: phonenumbers.PhoneNumber, region: str) -> bool:
    """Whether cc + nsn without ``+`` can only mean the number, typed in ``region``.

    In a workspace of the number's own calling code: where the country has a trunk
    prefix, always (the calling code without ``+`` wins there); where it has none, only
    when cc + nsn is not itself a valid national number (in IT ``39`` + ``0731 9994`` is
    also the mobile ``390 731 9994``).  Elsewhere only Indian 10-digit numbers in a NANP
    workspace: a 12-digit string is longer than any national number there.  Other
    cc + nsn strings may well be valid national numbers (a 10-digit BE number in the
    US), so they are not drawn.
    """
    nsn = phonenumbers.national_significant_number(number)
    if phonenumbers.country_code_for_region(region) == number.country_code:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.national_prefix:
            return True
        try:
            national = phonenumbers.parse(f"{number.country_code}{nsn}", region)
        except phonenumbers.NumberParseException:
            return True
        return not phonenumbers.is_valid_number(national) or national == number
    if number.country_code != 91 or len(nsn) != 10:
        return False
    return phonenumbers.country_code_for_region(region) == 1


def _bare_reads_as_calling_code(digits: str, number: phonenumbers.PhoneNumber, region: str) -> bool:
    """Whether national digits of ``number`` typed bare in ``region`` read as the region's
    calling code + another valid number (a German ``4953 43220`` is ``+49 5343220``:
    where a country has a trunk prefix, the calling code without ``+`` wins)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    cc = str(number.country_code)
    if metadata is None or not metadata.national_prefix or not digits.startswith(cc):
        return False
    try:
        other = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return False
    return (
        other.country_code == number.country_code
        and phonenumbers.is_valid_number(other)
        and other != number
    )


def _to_script(text: str, script: str) -> str:
    zero = ord(_DIGIT_ZEROS[script])
    out = "".join(chr(zero + int(ch)) if "0" <= ch <= "9" else ch for ch in text)
    if script == "fullwidth":
        out = out.replace("+", "\uff0b")
    return out


def _padding(draw: DrawFn) -> str:
    """Whitespace, maybe with zero-width characters inside it (all trimmed by the rules)."""
    return draw(_PAD_OUTER) + draw(_PAD_INVISIBLE) + draw(_PAD_INNER)


@dataclass(frozen=True, slots=True)
class _PhoneFacts:
    forms: tuple[str, ...]
    cc: str
    nsn: str
    national: str
    international: str
    rfc3966: str
    trunk: str


@lru_cache(maxsize=4096)
def _phone_facts(e164: str, region: str) -> _PhoneFacts:
    """The forms of ``e164`` that a workspace in ``region`` reads unambiguously."""
    number = phonenumbers.parse(e164, None)
    cc = str(number.country_code)
    nsn = phonenumbers.national_significant_number(number)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    forms = ["e164", "international", "rfc3966", "plus", "plus_paren_cc"]
    if _idd_00_reads_as_plus(region, cc + nsn):
        forms.append("idd00")
    trunk = ""
    if phonenumbers.country_code_for_region(region) == number.country_code:
        national_digits = phonenumbers.normalize_digits_only(national)
        if not _bare_reads_as_calling_code(national_digits, number, region):
            forms += ["national", "national_grouped"]
        if not _bare_reads_as_calling_code(nsn, number, region):
            forms.append("nsn")
        metadata = PhoneMetadata.metadata_for_region(region)
        prefix = metadata.national_prefix if metadata is not None else None
        if prefix and phonenumbers.normalize_digits_only(national) == prefix + nsn:
            forms.append("trunk")  # the region writes this number with its trunk prefix
            trunk = prefix
    if _cc_nsn_unambiguous(number, region):
        forms.append("cc_nsn")
    return _PhoneFacts(
        forms=tuple(forms),
        cc=cc,
        nsn=nsn,
        national=national,
        international=phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        rfc3966=phonenumbers.format_number(number, PhoneNumberFormat.RFC3966),
        trunk=trunk,
    )


def _spell_phone(draw: DrawFn, e164: str, region: str) -> str:
    facts = _phone_facts(e164, region)
    cc, nsn = facts.cc, facts.nsn
    form = draw(_sampled(facts.forms))
    if form == "e164":
        core = e164
    elif form == "international":
        core = facts.international
    elif form == "rfc3966":
        core = facts.rfc3966
    elif form == "plus":
        core = "+" + _regroup(draw, cc + nsn, parens=False)
    elif form == "plus_paren_cc":
        core = f"(+{cc})" + draw(_sampled(_SEPARATORS)) + _regroup(draw, nsn)
    elif form == "idd00":
        core = "00" + draw(_sampled(_SEPARATORS)) + _regroup(draw, cc + nsn)
    elif form == "national":
        core = facts.national
    elif form == "national_grouped":
        core = _regroup(draw, phonenumbers.normalize_digits_only(facts.national))
    elif form == "trunk":
        core = facts.trunk + draw(_sampled(_SEPARATORS)) + _regroup(draw, nsn)
    elif form == "nsn":
        core = _regroup(draw, nsn)
    else:  # cc_nsn
        core = _regroup(draw, cc + nsn, parens=False)
    core = _to_script(core, draw(_sampled(tuple(_DIGIT_ZEROS))))
    if form != "rfc3966" and draw(_below(6)) == 0:
        core = draw(_sampled(("tel:", "TEL:", "Tel:"))) + core
    if draw(_below(6)) == 0:
        core += draw(_sampled(_EXTENSIONS))
    assume(len(core) <= _MAX_PHONE_CORE)
    return _padding(draw) + core + _padding(draw)


@lru_cache(maxsize=1024)
def phone_spellings(e164: str, region: str) -> SearchStrategy[str]:
    """Spellings of ``e164`` that a workspace with default country ``region`` must read
    as that number.

    Forms: E.164, INTERNATIONAL, RFC 3966 (``tel:+...``), ``+`` or ``(+cc)`` with random
    separators (space, dash, dot, parentheses), ``00`` + cc where ``00`` can only be the
    international prefix, and - when ``region`` shares the number's country code -
    NATIONAL (with its trunk prefix), trunk prefix + regrouped nsn (only where NATIONAL
    has it: CO mobiles have none, and ``03...`` there is a carrier code), and the bare
    nsn (unless those digits read as the calling code + another number); cc + nsn
    without ``+`` in the number's own country (where no national reading competes) and
    for Indian numbers in NANP workspaces.
    Decorations: digits in full-width / Arabic-Indic / Persian / Devanagari script, a
    ``tel:`` prefix, a trailing extension, and surrounding whitespace (NBSP, tab,
    newline, U+3000, ZWSP).  The trimmed spelling stays within 64 characters.
    """
    return st.composite(lambda draw: _spell_phone(draw, e164, region))()


# -- Unicode case ------------------------------------------------------------------

#: Characters and sequences whose case behaviour trips naive folding: ß/SS/ẞ, ſ/s,
#: µ/μ/Μ, σ/ς/Σ, ǅ/Ǆ/ǆ, ﬁ/FI, é precomposed/decomposed, Å/Å (angstrom), K/K (kelvin),
#: Ω/Ω (ohm), ǰ, ΐ, ᾳ, Æ/æ, ŉ, and the Turkic İ/ı (which do *not* fold to I/i).
CASE_PAIRS: tuple[str, ...] = (
    "ß",
    "ẞ",
    "SS",
    "ss",
    "ſ",
    "s",
    "S",
    "µ",
    "μ",
    "Μ",
    "σ",
    "ς",
    "Σ",
    "ǅ",
    "Ǆ",
    "ǆ",
    "ﬁ",
    "FI",
    "é",
    "e\u0301",
    "É",
    "E\u0301",
    "Å",
    "\u212b",
    "k",
    "K",
    "\u212a",
    "Ω",
    "\u2126",
    "ω",
    "ǰ",
    "J\u030c",
    "ΐ",
    "ᾳ",
    "ΑΙ",
    "Æ",
    "æ",
    "ŉ",
    "İ",
    "ı",
    "i",
    "I",
)

_ORDINARY = st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"))


def _fold(text: str) -> str:
    """Caseless form per the documented rule, ``NFC(casefold(NFD(text)))``: equal exactly
    for canonical caseless matches (Unicode D145)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).casefold())


#: Whitespace as the rules define it: tab, LF, VT, FF, CR and every Zs, Zl, Zp character
#: (all in the BMP); not U+001C-U+001F or U+0085, which ``str.strip()`` also removes.
_WHITESPACE = "\t\n\v\f\r" + "".join(
    c for c in map(chr, range(0x10000)) if unicodedata.category(c) in ("Zs", "Zl", "Zp")
)


@lru_cache(maxsize=8192)
def _case_options(ch: str) -> tuple[str, ...]:
    """Case mappings of ``ch`` that fold like ``ch`` itself.

    Drops mappings that change the caseless form: the dotless ``ı`` upper-cases to
    ``I``, which folds to ``i``.  Combining marks (U+0345 upper-cases to a base letter,
    which moves the marks after it) keep their case.
    """
    if unicodedata.category(ch).startswith("M"):
        return (ch,)
    options = dict.fromkeys([ch, ch.upper(), ch.lower(), ch.title(), ch.casefold()])
    return tuple(v for v in options if _fold(v) == _fold(ch))


def _case_variant(draw: DrawFn, text: str) -> str:
    nfc = unicodedata.normalize("NFC", text)
    out = []
    for ch in nfc:
        options = _case_options(ch)
        out.append(options[draw(_below(len(options)))] if len(options) > 1 else ch)
    return "".join(out)


def _vary_text(draw: DrawFn, text: str) -> str:
    variant = _case_variant(draw, text)
    if draw(_BOOLEANS):
        variant = unicodedata.normalize("NFD", variant)
    return variant


@lru_cache(maxsize=1024)
def text_variants(text: str) -> SearchStrategy[str]:
    """Variants of ``text`` that differ only in case (and NFC/NFD form).

    Each character of the NFC form takes one of its case mappings (upper, lower,
    title, casefold), except mappings that Unicode does not call caseless-equal
    (the Turkic ``ı`` -> ``I``); the result may then be decomposed (NFD).
    Whitespace is never touched: text keys keep it.
    """
    return st.composite(lambda draw: _vary_text(draw, text))()


@lru_cache(maxsize=16)
def text_ids(min_size: int = 1, max_size: int = 12) -> SearchStrategy[str]:
    """Text identifiers mixing :data:`CASE_PAIRS` with ordinary characters.

    Built with ``st.lists(...).map("".join)`` so the case pairs keep their weight;
    never empty and never whitespace-only (those are unusable identifiers).
    """
    pieces = st.one_of(st.sampled_from(CASE_PAIRS), _ORDINARY)
    return (
        st.lists(pieces, min_size=min_size, max_size=max_size)
        .map("".join)
        .filter(lambda s: s.strip(_WHITESPACE) != "")
    )


# -- emails ------------------------------------------------------------------------

#: Email values that are not usable addresses (after trimming).
UNUSABLE_EMAILS: tuple[str, ...] = (
    "jane.doe@",
    "no-at-sign",
    "a@b@c.com",
    "john@localhost",
    "john@example.com.",
    "john doe@example.com",
    "jo..hn@example.com",
    "john\u200b@example.com",
    "john＠example.com",
    "john@example.com\x1f",  # control characters are not trimmed (str.strip would)
    "\x85john@example.com",
)

_DOMAINS = (
    "example.com",
    "Gmail.com",
    "mail.co.in",
    "xn--bcher-kva.de",
    "bücher.de",
    "EXAMPLE.org",
    "straße.de",
)
_LOCAL_CHARS = st.characters(categories=("Ll", "Lu", "Lt", "Nd"), max_codepoint=0x2FFF)


def _valid_email(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _email_identity(address: str) -> tuple[str, str]:
    """The documented caseless identity: folded local part, ASCII (IDNA) domain."""
    checked = validate_email(address, check_deliverability=False)
    return _fold(checked.local_part), checked.ascii_domain


@lru_cache(maxsize=1)
def emails() -> SearchStrategy[str]:
    """Valid email addresses (email-validator, no DNS), some with Unicode local parts."""
    unicode_local = st.lists(
        st.one_of(st.sampled_from(CASE_PAIRS), _LOCAL_CHARS), min_size=1, max_size=10
    ).map("".join)
    built = st.builds("{}@{}".format, unicode_local, st.sampled_from(_DOMAINS))
    return st.one_of(st.emails(), built).filter(_valid_email)


def _vary_email(draw: DrawFn, address: str) -> tuple[str, str, str]:
    """``(left padding, address in mixed case, right padding)``."""
    local, _, domain = address.rpartition("@")
    local_variant = _case_variant(draw, local)
    domain_variant = "".join(
        (c.upper() if draw(_BOOLEANS) else c.lower()) if c.isascii() else c for c in domain
    )
    core = f"{local_variant}@{domain_variant}"
    assume(_valid_email(core))
    return _padding(draw), core, _padding(draw)


@lru_cache(maxsize=1024)
def email_variants(address: str) -> SearchStrategy[str]:
    """Spellings of ``address`` that must share its key: the local part in mixed case
    (caseless-equal mappings only), ASCII domain letters in mixed case, and surrounding
    whitespace / zero-width characters.  Non-ASCII domain letters keep their case
    (``straße.de`` and ``STRASSE.DE`` are different domains)."""
    return st.composite(lambda draw: "".join(_vary_email(draw, address)))()


# -- payloads ----------------------------------------------------------------------

#: Fields (beyond the standard name/phone/email) that payloads use; pass them to
#: ``create_workspace(..., fields=WORKSPACE_FIELDS)``.
WORKSPACE_FIELDS: dict[str, str] = {"customer_id": "text", "rating": "rating"}
_UNKNOWN_FIELDS = ("utm_campaign", "Phone", "EMAIL", "source_id")
_WRONG_TYPES: tuple[Any, ...] = (919999999999, 9.5, True, False, 0, [], ["x"], {}, {"a": 1})
_WRONG_TYPE = st.sampled_from(_WRONG_TYPES)
_NAMES = st.one_of(st.text(max_size=8), st.sampled_from(_WRONG_TYPES[:3]))
_RATINGS = st.sampled_from([1, 2, 3, 4, 5, "3", 0, 6, True, 3.5, None])
_UNKNOWN = st.lists(st.sampled_from(_UNKNOWN_FIELDS), max_size=2, unique=True)
_UNKNOWN_VALUES = st.one_of(st.text(max_size=5), _WRONG_TYPE)
_MALFORMED = st.sampled_from(
    [
        [],
        "fields",
        {"fields": []},
        {"fields": "phone"},
        {"lead": {}},
        {"fields": {}, "actions": "call"},
    ]
)


@dataclass(frozen=True, slots=True)
class Expected:
    """What the rules make of one supplied (non-null) field value.

    ``usable``: the value fits the field's type.  ``stored``: the value a lead stores.
    ``token``: which pool value it spells (``(field, i)``), or None when it has no key.
    ``empty``: an empty or whitespace-only value.
    """

    usable: bool
    stored: Any = None
    token: Hashable | None = None
    empty: bool = False


@dataclass(frozen=True, slots=True)
class LabelledPayload:
    """An Async API body and, per known field supplied with a non-null value, the
    :class:`Expected` reading.  ``malformed`` bodies are not ``{"fields": {...}}``."""

    body: Any
    expected: dict[str, Expected] = field(default_factory=dict)
    malformed: bool = False


@dataclass(frozen=True, slots=True)
class LeadPool:
    """A few leads' identifier values; ``(field, i)`` tokens name them.

    Values of one field have pairwise different keys under the documented rules.
    """

    region: str
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    texts: tuple[str, ...]
    text_field: str = "customer_id"


@lru_cache(maxsize=64)
def _pool_numbers(region: str) -> SearchStrategy[str]:
    """E.164 numbers, two in three from ``region``."""
    home = valid_phone_numbers(st.just(region))
    return st.one_of(home, home, valid_phone_numbers()).map(lambda pair: pair[1])


@st.composite
def lead_pools(
    draw: DrawFn,
    region: str = "IN",
    *,
    min_size: int = 1,
    max_size: int = 4,
    text_field: str = "customer_id",
) -> LeadPool:
    """A small pool of leads: E.164 phones (mostly from ``region``), emails, text ids."""
    phones = draw(
        st.lists(_pool_numbers(region), min_size=min_size, max_size=max_size, unique=True)
    )
    addresses = draw(
        st.lists(emails(), min_size=min_size, max_size=max_size, unique_by=_email_identity)
    )
    texts = draw(st.lists(text_ids(), min_size=min_size, max_size=max_size, unique_by=_fold))
    return LeadPool(region, tuple(phones), tuple(addresses), tuple(texts), text_field)


def _field_value(
    draw: DrawFn, pool: LeadPool, name: str, primary: bool
) -> tuple[Any, Expected | None] | None:
    """A value for identifier-type field ``name`` (None: leave the field out)."""
    roll = draw(_below(20))
    if not primary and roll < 8:
        return None
    if roll < 14:  # a pool value, in some spelling
        if name == "phone":
            i = draw(_below(len(pool.phones)))
            raw = _spell_phone(draw, pool.phones[i], pool.region)
            return raw, Expected(True, pool.phones[i], ("phone", i))
        if name == "email":
            i = draw(_below(len(pool.emails)))
            left, core, right = _vary_email(draw, pool.emails[i])
            return left + core + right, Expected(True, core, ("email", i))
        i = draw(_below(len(pool.texts)))
        raw = _vary_text(draw, pool.texts[i])
        return raw, Expected(True, raw, (name, i))
    if roll == 14:
        return None  # missing
    if roll == 15:
        return None, None  # null: "not supplied"
    if roll == 16:  # empty or whitespace-only
        raw = draw(_sampled(("", " ", "\t \n", "\xa0")))
        if name in ("phone", "email"):
            return raw, Expected(False, empty=True)
        return raw, Expected(True, raw, None, empty=True)
    if roll in (17, 18) and name != pool.text_field:
        bad = UNUSABLE_PHONES if name == "phone" else UNUSABLE_EMAILS
        return draw(_sampled(bad)), Expected(False)
    return draw(_WRONG_TYPE), Expected(False)


def _labelled_payload(
    draw: DrawFn, pool: LeadPool, identifier: str, malformed: bool
) -> LabelledPayload:
    if malformed and draw(_below(30)) == 0:
        return LabelledPayload(draw(_MALFORMED), {}, malformed=True)
    return _well_formed_payload(draw, pool, identifier)


@lru_cache(maxsize=256)
def labelled_payloads(
    pool: LeadPool, *, identifier: str = "phone", malformed: bool = True
) -> SearchStrategy[LabelledPayload]:
    """An Async API body over ``pool`` with its :class:`Expected` labels.

    The ``identifier`` field is usually a pool value in some spelling, sometimes
    missing, null, empty, unusable or of the wrong JSON type; the other identifier-type
    fields (phone, email, ``pool.text_field``) appear less often.  Also ``name``
    (text), ``rating`` (valid 1..5 or not), unknown fields (``Phone`` and ``EMAIL``
    among them: API names are case-sensitive), null values, optional ``actions``,
    shuffled field order and, if ``malformed``, rarely a body that is not
    ``{"fields": {...}}``.
    """
    return st.composite(lambda draw: _labelled_payload(draw, pool, identifier, malformed))()


def _well_formed_payload(draw: DrawFn, pool: LeadPool, identifier: str) -> LabelledPayload:
    fields: dict[str, Any] = {}
    expected: dict[str, Expected] = {}
    for name in ("phone", "email", pool.text_field):
        result = _field_value(draw, pool, name, primary=name == identifier)
        if result is None:
            continue
        raw, label = result
        fields[name] = raw
        if label is not None:
            expected[name] = label
    if draw(_BOOLEANS):
        name_value = draw(_NAMES)
        fields["name"] = name_value
        if isinstance(name_value, str):
            blank = not name_value.strip(_WHITESPACE)
            expected["name"] = Expected(True, name_value, None, empty=blank)
        else:
            expected["name"] = Expected(False)
    if draw(_below(3)) == 0:
        rating = draw(_RATINGS)
        fields["rating"] = rating
        if rating is not None:
            ok = type(rating) is int and 1 <= rating <= 5
            expected["rating"] = Expected(ok, rating if ok else None)
    for unknown in draw(_UNKNOWN):
        fields[unknown] = draw(_UNKNOWN_VALUES)
    order = list(fields)
    for i in range(len(order) - 1, 0, -1):  # shuffle: key order must not matter
        j = draw(_below(i + 1))
        order[i], order[j] = order[j], order[i]
    body: dict[str, Any] = {"fields": {name: fields[name] for name in order}}
    actions = draw(_below(4))
    if actions == 1:
        body["actions"] = []
    elif actions == 2:
        body["actions"] = [{"type": "ACTION_1001", "fields": {"note": "x"}}]
    return LabelledPayload(body, expected)


def _text_field(identifier: str) -> str:
    return "customer_id" if identifier in ("phone", "email") else identifier


def payloads(
    identifier: str = "phone", *, region: str = "IN", pool: LeadPool | None = None
) -> SearchStrategy[Any]:
    """Async API bodies ``{"fields": {...}, "actions": [...]}`` (see
    :func:`labelled_payloads`); for a workspace created with ``fields=WORKSPACE_FIELDS``
    whose identifier is ``identifier`` (``phone``, ``email`` or ``customer_id``)."""
    pools = (
        st.just(pool)
        if pool is not None
        else lead_pools(region, text_field=_text_field(identifier))
    )
    return pools.flatmap(lambda p: labelled_payloads(p, identifier=identifier)).map(
        lambda labelled: labelled.body
    )


def labelled_payload_streams(
    identifier: str = "phone",
    *,
    region: str = "IN",
    min_size: int = 1,
    max_size: int = 20,
    pool_size: int = 4,
) -> SearchStrategy[tuple[LeadPool, list[LabelledPayload]]]:
    """A pool and a stream of labelled payloads over it (the same few leads recur)."""

    def stream(pool: LeadPool) -> SearchStrategy[tuple[LeadPool, list[LabelledPayload]]]:
        items = st.lists(
            labelled_payloads(pool, identifier=identifier), min_size=min_size, max_size=max_size
        )
        return st.tuples(st.just(pool), items)

    pools = lead_pools(region, max_size=pool_size, text_field=_text_field(identifier))
    return pools.flatmap(stream)


def payload_streams(
    identifier: str = "phone",
    *,
    region: str = "IN",
    min_size: int = 1,
    max_size: int = 20,
    pool_size: int = 4,
) -> SearchStrategy[list[Any]]:
    """Streams of Async API bodies whose identifiers come from a few leads in varied
    spellings, so that ingesting them creates, updates and drops."""

    def to_bodies(pair: tuple[LeadPool, list[LabelledPayload]]) -> list[Any]:
        return [item.body for item in pair[1]]

    return labelled_payload_streams(
        identifier, region=region, min_size=min_size, max_size=max_size, pool_size=pool_size
    ).map(to_bodies)
