"""Hypothesis strategies for leadkey identifiers, workspaces and Async API payloads.

Install them with ``pip install 'leadkey[testing]'`` (leadkey itself does not need
hypothesis) and use them in your own property tests::

    from hypothesis import given

    from leadkey import Leadkey
    from leadkey.adapters.strategies import phone_numbers_with_spellings


    @given(phone_numbers_with_spellings(n=3))
    def test_every_spelling_finds_the_same_lead(number):
        app = Leadkey("memory:")
        app.create_workspace("acme", country=number.region)
        first = app.ingest("acme", {"fields": {"phone": number.spellings[0]}})
        assert first.key == number.e164
        assert all(app.lookup("acme", s).lead_id == first.lead_id for s in number.spellings)

What there is:

- phones: :func:`valid_phone_numbers` draws ``(region, e164)``; :func:`phone_spellings`
  ``(region, e164)`` spells a number as a workspace of that default country must read
  it; :func:`phone_numbers_with_spellings` draws both at once.  Region comes first
  everywhere.
- text and email identifiers: :func:`text_ids`, :func:`text_variants`, :func:`emails`,
  :func:`email_variants`.
- workspaces: :func:`workspace_configs` (a :class:`WorkspaceConfig` to create a workspace
  with) and :func:`identifier_switches` (:class:`ConfigChange` steps to apply to it).
- payloads: :func:`payloads` and :func:`payload_streams` for a :class:`WorkspaceConfig`
  (the fields they fill are the config's), :func:`lead_pools`, and the labelled forms
  :func:`labelled_payloads` / :func:`labelled_payload_streams` that say what the rules
  make of each value (see :class:`LabelledPayload`).  The config comes first, then the
  pool.

Every strategy is built from phonenumbers / email-validator / Unicode facts, not from
leadkey's own normalizers, so tests that use them check leadkey rather than restate it.
Spellings are limited to those that leadkey's documented rules read unambiguously (see
:func:`phone_spellings`).

Shrinking is quick: a spelling is a few small numbers (its form and decorations, each
0 for "plain") rendered onto a value; a payload stream is a small pool of leads and a
list of payload plans whose choices never depend on the pool (a lead is an index taken
modulo the pool's size), so the pool and the stream shrink apart; numbers, spellings
and payloads never reject what they drew (no ``assume``, no filters).  A failing stream
shrinks to a few payloads in plain spellings.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType

try:
    from hypothesis import strategies as st
    from hypothesis.strategies import DrawFn, SearchStrategy
except ImportError as error:  # hypothesis is an optional dependency of leadkey
    raise ModuleNotFoundError(
        "leadkey.adapters.strategies needs hypothesis: pip install 'leadkey[testing]'",
        name="hypothesis",
    ) from error

if TYPE_CHECKING:
    from leadkey.adapters.application import Leadkey
    from leadkey.projections.identifier_index import RebuildReport

__all__ = [
    "CASE_PAIRS",
    "PHONE_REGIONS",
    "UNUSABLE_EMAILS",
    "UNUSABLE_PHONES",
    "WORKSPACE_FIELDS",
    "ConfigChange",
    "Expected",
    "LabelledPayload",
    "LeadPool",
    "NumberWithSpellings",
    "WorkspaceConfig",
    "email_variants",
    "emails",
    "identifier_switches",
    "labelled_payload_streams",
    "labelled_payloads",
    "lead_pools",
    "payload_streams",
    "payloads",
    "phone_numbers_with_spellings",
    "phone_spellings",
    "text_ids",
    "text_variants",
    "valid_phone_numbers",
    "workspace_configs",
]

#: Regions as a strategy argument: one region code, a few, a strategy of them, or None
#: for every region of :data:`PHONE_REGIONS`.
Regions = str | Sequence[str] | SearchStrategy[str] | None


@lru_cache(maxsize=256)
def _sampled(options: tuple[Any, ...]) -> SearchStrategy[Any]:
    """One strategy object per option tuple: building strategies per draw is slow."""
    return st.sampled_from(options)


@lru_cache(maxsize=64)
def _below(n: int) -> SearchStrategy[int]:
    return st.integers(0, n - 1)


_BOOLEANS = st.booleans()
#: Seeds of the random parts of a spelling (grouping, case); 0 is the plain spelling.
_SEEDS = st.integers(0, 2**32 - 1)


@st.composite
def _gated(draw: DrawFn, plain: tuple[int, ...], styles: SearchStrategy[Any]) -> Any:
    """``plain`` one time in eight, else a style drawn from ``styles``: a plain spelling
    is then one choice, which is what a shrink that does not need the style ends on."""
    return plain if draw(_below(8)) == 0 else draw(styles)


# -- phones ------------------------------------------------------------------------

_NUMBER_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
_EXAMPLES: dict[str, tuple[phonenumbers.PhoneNumber, ...]] = {
    region: examples
    for region in sorted(phonenumbers.SUPPORTED_REGIONS)
    if (
        examples := tuple(
            number
            for t in _NUMBER_TYPES
            if (number := phonenumbers.example_number_for_type(region, t)) is not None
        )
    )
}

#: Regions with an example mobile or fixed-line number (the regions drawn by default).
PHONE_REGIONS: tuple[str, ...] = tuple(_EXAMPLES)

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
#: Whitespace and zero-width characters around a value (all trimmed by the rules).
_PADDINGS = (
    "",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\xa0",
    "\u3000",
    "  ",
    " \t",
    "\n \xa0",
    "\u200b",
    "\ufeff",
    " \u200b",
    "\u200b ",
    "\t\ufeff\xa0",
    "\u3000\u200b\n",
)
_TEL_PREFIXES = ("tel:", "TEL:", "Tel:")
_EXTENSIONS = (" x12", " ext. 5", " ext 77", " extension 45", "#7", ";ext=9", ",123", " # 42")
_DIGIT_ZEROS = {
    "ascii": "0",
    "fullwidth": "\uff10",
    "arabic-indic": "\u0660",
    "persian": "\u06f0",
    "devanagari": "\u0966",
}
_SCRIPTS = tuple(_DIGIT_ZEROS)
_MAX_PHONE_CORE = 64
_ALL_REGIONS = st.sampled_from(PHONE_REGIONS)
#: ``(type, digits, offset)`` of :func:`_rerolled`; all 0 is the example number.
_REROLLS = st.tuples(_below(len(_NUMBER_TYPES)), st.integers(1, 4), st.integers(0, 9999))


def _region_strategy(regions: Regions) -> SearchStrategy[str]:
    """``regions`` as a strategy; raise ``ValueError`` for a code without example numbers."""
    if regions is None:
        return _ALL_REGIONS
    if isinstance(regions, SearchStrategy):
        return regions
    chosen = (regions,) if isinstance(regions, str) else tuple(regions)
    unknown = [region for region in chosen if region not in _EXAMPLES]
    if not chosen or unknown:
        raise ValueError(f"regions {unknown or chosen!r}: use codes of PHONE_REGIONS, e.g. 'IN'")
    return _sampled(chosen)


@lru_cache(maxsize=16384)
def _rerolled(region: str, kind: int, digits: int, offset: int) -> tuple[str, str]:
    """``(home region, e164)``: the region's example number of type ``kind`` with its last
    ``digits`` digits moved on by ``offset`` to the next valid number (the example
    itself is valid, so there always is one: nothing is rejected)."""
    examples = _EXAMPLES.get(region)
    if examples is None:
        raise ValueError(f"region {region!r} has no example numbers: use one of PHONE_REGIONS")
    example = examples[kind % len(examples)]
    nsn = phonenumbers.national_significant_number(example)
    k = min(digits, max(1, len(nsn) - 1))
    size = 10**k
    start = int(nsn[-k:]) + offset
    for step in range(size):
        candidate = f"+{example.country_code}{nsn[:-k]}{(start + step) % size:0{k}d}"
        number = phonenumbers.parse(candidate, None)
        if phonenumbers.is_valid_number(number):
            home = phonenumbers.region_code_for_number(number) or region
            return home, phonenumbers.format_number(number, PhoneNumberFormat.E164)
    raise AssertionError(f"no valid number near {example}")  # pragma: no cover


def valid_phone_numbers(regions: Regions = None) -> SearchStrategy[tuple[str, str]]:
    """Draw ``(region, e164)`` for a number phonenumbers calls valid.

    Starts from the example mobile or fixed-line number of a region drawn from
    ``regions`` (one code, several, a strategy, or None for :data:`PHONE_REGIONS`) and
    moves its last 1-4 digits on to the next valid number (nothing is rejected; it
    shrinks to the example).  ``region`` is the region the number belongs to (the drawn
    one, or the one phonenumbers assigns the new number, e.g. CA for a US example).
    """
    return st.tuples(_region_strategy(regions), _REROLLS).map(_reroll)


def _reroll(drawn: tuple[str, tuple[int, int, int]]) -> tuple[str, str]:
    region, (kind, digits, offset) = drawn
    return _rerolled(region, kind, digits, offset)


def _regroup(rng: random.Random | None, digits: str, *, parens: bool = True) -> str:
    """``digits`` cut into random groups joined by random separators (as is without
    ``rng``)."""
    if rng is None:
        return digits
    groups: list[str] = []
    rest = digits
    while rest:
        size = rng.randint(1, 5)
        groups.append(rest[:size])
        rest = rest[size:]
    if parens and len(groups) > 1 and rng.randrange(4) == 0:
        i = rng.randrange(len(groups) - 1)
        groups[i] = f"({groups[i]})"
    out = groups[0]
    for group in groups[1:]:
        out += rng.choice(_SEPARATORS) + group
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
def _phone_facts(region: str, e164: str) -> _PhoneFacts:
    """The forms of ``e164`` that a workspace in ``region`` reads unambiguously (E.164
    first: the plain spelling)."""
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


#: How to spell a number, as small numbers that are 0 for the plain spelling: form (an
#: index into the number's forms), grouping seed, digit script, ``tel:`` prefix (one
#: time in six), extension (one time in six), left and right padding.
_PHONE_STYLES = _gated(
    (0,) * 7,
    st.tuples(
        _below(12),
        _SEEDS,
        _below(len(_SCRIPTS)),
        _below(6 * len(_TEL_PREFIXES)),
        _below(6 * len(_EXTENSIONS)),
        _below(len(_PADDINGS)),
        _below(len(_PADDINGS)),
    ),
)
_PhoneStyle = tuple[int, int, int, int, int, int, int]


def _phone_core(facts: _PhoneFacts, e164: str, form: str, rng: random.Random | None) -> str:
    """The number in ``form``, regrouped by ``rng`` (as the form writes it without)."""
    cc, nsn = facts.cc, facts.nsn
    separator = rng.choice(_SEPARATORS) if rng is not None else ""
    if form == "e164":
        return e164
    if form == "international":
        return facts.international
    if form == "rfc3966":
        return facts.rfc3966
    if form == "plus":
        return "+" + _regroup(rng, cc + nsn, parens=False)
    if form == "plus_paren_cc":
        return f"(+{cc})" + separator + _regroup(rng, nsn)
    if form == "idd00":
        return "00" + separator + _regroup(rng, cc + nsn)
    if form == "national":
        return facts.national
    if form == "national_grouped":
        return _regroup(rng, phonenumbers.normalize_digits_only(facts.national))
    if form == "trunk":
        return facts.trunk + separator + _regroup(rng, nsn)
    if form == "nsn":
        return _regroup(rng, nsn)
    return _regroup(rng, cc + nsn, parens=False)  # cc_nsn


def _render_phone(region: str, e164: str, style: _PhoneStyle) -> str:
    """``e164`` spelled for a workspace in ``region`` as ``style`` says (see
    :data:`_PHONE_STYLES`); a core over 64 characters loses its regrouping."""
    form_index, grouping, script, tel, extension, left, right = style
    facts = _phone_facts(region, e164)
    form = facts.forms[form_index % len(facts.forms)]
    rng = random.Random(grouping) if grouping else None
    core = _to_script(_phone_core(facts, e164, form, rng), _SCRIPTS[script])
    if form != "rfc3966" and tel >= 5 * len(_TEL_PREFIXES):
        core = _TEL_PREFIXES[tel - 5 * len(_TEL_PREFIXES)] + core
    if extension >= 5 * len(_EXTENSIONS):
        core += _EXTENSIONS[extension - 5 * len(_EXTENSIONS)]
    if len(core) > _MAX_PHONE_CORE:  # only regrouped cores get that long
        return _render_phone(region, e164, (form_index, 0, script, tel, extension, left, right))
    return _PADDINGS[left] + core + _PADDINGS[right]


def _check_number(region: str, e164: str) -> None:
    """Raise ``ValueError`` unless ``region`` is a region code and ``e164`` a valid number
    in E.164 (so that the arguments' order cannot be mixed up silently)."""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"region {region!r}: expected a region code such as 'IN' first")
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is None
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.format_number(number, PhoneNumberFormat.E164) != e164
    ):
        raise ValueError(f"e164 {e164!r}: expected a valid number in E.164 such as '+91...'")


@lru_cache(maxsize=1024)
def phone_spellings(region: str, e164: str) -> SearchStrategy[str]:
    """Spellings of ``e164`` that a workspace with default country ``region`` must read
    as that number (``ValueError`` if ``region`` is no region code or ``e164`` no
    valid E.164 number).

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
    Shrinks to the E.164 form itself.
    """
    _check_number(region, e164)
    return _PHONE_STYLES.map(partial(_render_phone, region, e164))


@dataclass(frozen=True, slots=True)
class NumberWithSpellings:
    """A number and different spellings of it that a workspace whose default country is
    ``region`` must all key to ``e164`` (and so match to one lead)."""

    region: str
    e164: str
    spellings: tuple[str, ...]


def phone_numbers_with_spellings(
    n: int = 3, *, regions: Regions = None
) -> SearchStrategy[NumberWithSpellings]:
    """A :class:`NumberWithSpellings` with ``n`` distinct spellings (see
    :func:`phone_spellings`).

    ``region`` is drawn from ``regions`` (as in :func:`valid_phone_numbers`); the number
    is from that region two times in three, else from any region (a foreign number, as
    a workspace also receives).
    """
    if n < 1:
        raise ValueError(f"n={n}: at least one spelling")
    return _numbers_with_spellings(n, _region_strategy(regions))


@st.composite
def _numbers_with_spellings(
    draw: DrawFn, n: int, regions: SearchStrategy[str]
) -> NumberWithSpellings:
    region = draw(regions)
    foreign = draw(_below(3)) == 2
    _, e164 = _rerolled(draw(_ALL_REGIONS) if foreign else region, *draw(_REROLLS))
    spell = partial(_render_phone, region, e164)
    styles = draw(st.lists(_PHONE_STYLES, min_size=n, max_size=n, unique_by=spell))
    return NumberWithSpellings(region, e164, tuple(map(spell, styles)))


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


def _case_variant(text: str, rng: random.Random) -> str:
    """The NFC form of ``text`` with each character in a case mapping ``rng`` picks."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        options = _case_options(ch)
        out.append(options[rng.randrange(len(options))] if len(options) > 1 else ch)
    return "".join(out)


#: ``(case seed, decompose)`` of a text variant; ``(0, False)`` is the text as it is.
_TEXT_STYLES = st.tuples(_SEEDS, _BOOLEANS)


def _render_text(text: str, style: tuple[int, bool]) -> str:
    seed, decompose = style
    variant = _case_variant(text, random.Random(seed)) if seed else text
    return unicodedata.normalize("NFD", variant) if decompose else variant


@lru_cache(maxsize=1024)
def text_variants(text: str) -> SearchStrategy[str]:
    """Variants of ``text`` that differ only in case (and NFC/NFD form).

    Each character of the NFC form takes one of its case mappings (upper, lower,
    title, casefold), except mappings that Unicode does not call caseless-equal
    (the Turkic ``ı`` -> ``I``); the result may then be decomposed (NFD).
    Whitespace is never touched: text keys keep it.  Shrinks to ``text`` itself.
    """
    return _TEXT_STYLES.map(partial(_render_text, text))


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
    """Valid email addresses (email-validator, no DNS): half with Unicode local parts at
    a few domains (what they shrink to: few choices), half from ``st.emails()``."""
    unicode_local = st.lists(
        st.one_of(_LOCAL_CHARS, st.sampled_from(CASE_PAIRS)), min_size=1, max_size=10
    ).map("".join)
    built = st.builds("{}@{}".format, unicode_local, st.sampled_from(_DOMAINS))
    return st.one_of(built, st.emails()).filter(_valid_email)


#: ``(case seed, left padding, right padding)`` of an email variant; all 0 is the address.
_EMAIL_STYLES = _gated((0, 0, 0), st.tuples(_SEEDS, _below(len(_PADDINGS)), _below(len(_PADDINGS))))


def _render_email(address: str, style: tuple[int, int, int]) -> tuple[str, str, str]:
    """``(left padding, address in mixed case, right padding)``; a case variant that
    email-validator would refuse leaves the address as it is."""
    seed, left, right = style
    core = address
    if seed:
        rng = random.Random(seed)
        local, _, domain = address.rpartition("@")
        domain_variant = "".join(
            (c.upper() if rng.random() < 0.5 else c.lower()) if c.isascii() else c for c in domain
        )
        variant = f"{_case_variant(local, rng)}@{domain_variant}"
        if _valid_email(variant):
            core = variant
    return _PADDINGS[left], core, _PADDINGS[right]


@lru_cache(maxsize=1024)
def email_variants(address: str) -> SearchStrategy[str]:
    """Spellings of ``address`` that must share its key: the local part in mixed case
    (caseless-equal mappings only), ASCII domain letters in mixed case, and surrounding
    whitespace / zero-width characters.  Non-ASCII domain letters keep their case
    (``straße.de`` and ``STRASSE.DE`` are different domains).  Shrinks to ``address``."""
    return _EMAIL_STYLES.map(lambda style: "".join(_render_email(address, style)))


# -- workspaces ----------------------------------------------------------------------

#: Fields (beyond the standard name/phone/email) of the default :class:`WorkspaceConfig`,
#: the one a bare identifier name stands for in :func:`payloads` and the others.
WORKSPACE_FIELDS: dict[str, str] = {"customer_id": "text", "rating": "rating"}
_STANDARD_FIELDS = {"name": "text", "phone": "phone", "email": "email"}
_IDENTIFIER_TYPES = ("phone", "email", "text")
_TEXT_FIELDS = ("customer_id", "external_id", "crm_ref")
_EXTRA_FIELDS = {"alt_phone": "phone", "work_email": "email"}
_COUNTRIES = ("IN", "US", "GB", "DE", "BR")


@dataclass(frozen=True, slots=True)
class WorkspaceConfig:
    """A workspace that :func:`payloads` fit, to be created with::

        app.create_workspace(name, country=c.country, identifier=c.identifier, fields=c.fields)

    ``fields`` are the fields beyond the standard ``name``, ``phone`` and ``email`` (API
    name -> type).  Payloads fill :attr:`identifier_fields` with the values of a
    :class:`LeadPool`, ``name``, and ``rating`` if ``fields`` has it as a rating field.
    ``ValueError`` if ``identifier`` is not one of :attr:`identifier_fields` or
    ``country`` not one of :data:`PHONE_REGIONS`.
    """

    identifier: str = "phone"
    country: str = "IN"
    fields: Mapping[str, str] = field(default_factory=lambda: WORKSPACE_FIELDS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        for name, type_name in self.fields.items():
            if _STANDARD_FIELDS.get(name, type_name) != type_name:
                raise ValueError(f"{name!r} is a standard {_STANDARD_FIELDS[name]} field")
        if self.identifier not in self.identifier_fields:
            raise ValueError(f"identifier {self.identifier!r}: use one of {self.identifier_fields}")
        if self.country not in _EXAMPLES:
            raise ValueError(f"country {self.country!r}: use one of PHONE_REGIONS")

    def __hash__(self) -> int:
        return hash((self.identifier, self.country, tuple(self.fields.items())))

    def __repr__(self) -> str:
        return (
            f"WorkspaceConfig(identifier={self.identifier!r}, country={self.country!r}, "
            f"fields={dict(self.fields)!r})"
        )

    @property
    def all_fields(self) -> dict[str, str]:
        """Every field of the workspace: the standard ones and ``fields``."""
        return {**_STANDARD_FIELDS, **self.fields}

    @property
    def identifier_fields(self) -> tuple[str, ...]:
        """The phone, email and text fields but ``name``: those payloads fill from a
        :class:`LeadPool`, and the identifiers this config and its switches use."""
        return tuple(
            name
            for name, type_name in self.all_fields.items()
            if type_name in _IDENTIFIER_TYPES and name != "name"
        )


def _as_config(config: WorkspaceConfig | str) -> WorkspaceConfig:
    """A bare identifier name stands for the default config with that identifier."""
    return WorkspaceConfig(identifier=config) if isinstance(config, str) else config


def workspace_configs(
    *, countries: Regions = None, identifier_types: Sequence[str] = _IDENTIFIER_TYPES
) -> SearchStrategy[WorkspaceConfig]:
    """Workspace configurations: a text field (``customer_id``, ``external_id`` or
    ``crm_ref``), ``rating``, sometimes an ``alt_phone`` and a ``work_email`` field, an
    identifier among those of ``identifier_types`` (phone, email, text), and a default
    country from ``countries`` (default: IN, US, GB, DE or BR half the time, else any
    of :data:`PHONE_REGIONS`).  Shrinks to ``WorkspaceConfig()``."""
    unknown = set(identifier_types) - set(_IDENTIFIER_TYPES)
    if unknown or not identifier_types:
        raise ValueError(f"identifier_types {sorted(unknown)}: use phone, email or text")
    if countries is None:
        drawn = st.one_of(_sampled(_COUNTRIES), _ALL_REGIONS)
    else:
        drawn = _region_strategy(countries)
    return _workspace_configs(drawn, tuple(identifier_types))


@st.composite
def _workspace_configs(
    draw: DrawFn, countries: SearchStrategy[str], types: tuple[str, ...]
) -> WorkspaceConfig:
    fields = {draw(_sampled(_TEXT_FIELDS)): "text", "rating": "rating"}
    for name, type_name in _EXTRA_FIELDS.items():
        if draw(_below(3)) == 2:
            fields[name] = type_name
    candidates = [
        name
        for name, type_name in {**_STANDARD_FIELDS, **fields}.items()
        if type_name in types and name != "name"
    ]
    identifier = candidates[draw(_below(8)) % len(candidates)]
    return WorkspaceConfig(identifier, draw(countries), fields)


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One change of a workspace's configuration: a new ``identifier`` field or a new
    default ``country`` (the other one is None)."""

    identifier: str | None = None
    country: str | None = None

    def apply(self, app: Leadkey, workspace: str) -> RebuildReport:
        """Make the change in ``app`` (a ``Leadkey``) with ``app.change_identifier`` or
        ``app.change_country``; return its rebuild report."""
        if self.identifier is not None:
            return app.change_identifier(workspace, self.identifier)
        assert self.country is not None  # (one of the two is set)
        return app.change_country(workspace, self.country)

    def applied_to(self, config: WorkspaceConfig) -> WorkspaceConfig:
        """``config`` after this change."""
        return replace(
            config,
            identifier=self.identifier or config.identifier,
            country=self.country or config.country,
        )


def identifier_switches(
    config: WorkspaceConfig | str = "phone",
    *,
    countries: str | Sequence[str] = _COUNTRIES,
    min_size: int = 1,
    max_size: int = 3,
) -> SearchStrategy[tuple[ConfigChange, ...]]:
    """Sequences of changes of a workspace created from ``config``, each a real change
    of the configuration then in force (so none is refused): two in three switch the
    identifier to another of :attr:`WorkspaceConfig.identifier_fields`, the others the
    default country to another of ``countries``.  Apply them in order with
    :meth:`ConfigChange.apply`.  Shrinks to one switch of the identifier."""
    config = _as_config(config)
    choices = (countries,) if isinstance(countries, str) else tuple(countries)
    _region_strategy(choices)  # checks them
    steps = st.lists(st.tuples(_below(3), _below(64)), min_size=min_size, max_size=max_size)
    return steps.map(partial(_changes, config, choices))


def _changes(
    config: WorkspaceConfig, countries: tuple[str, ...], steps: list[tuple[int, int]]
) -> tuple[ConfigChange, ...]:
    changes = []
    for kind, index in steps:
        others = [c for c in countries if c != config.country] if kind == 2 else []
        if others:
            change = ConfigChange(country=others[index % len(others)])
        else:
            fields = [f for f in config.identifier_fields if f != config.identifier]
            change = ConfigChange(identifier=fields[index % len(fields)])
        changes.append(change)
        config = change.applied_to(config)
    return tuple(changes)


# -- payloads ----------------------------------------------------------------------

_UNKNOWN_FIELDS = ("utm_campaign", "Phone", "EMAIL", "source_id")
_WRONG_TYPES: tuple[Any, ...] = (919999999999, 9.5, True, False, 0, [], ["x"], {}, {"a": 1})
_WRONG_TYPE = st.sampled_from(_WRONG_TYPES)
_NAMES = st.one_of(st.text(max_size=8), st.sampled_from(_WRONG_TYPES[:3]))
_RATINGS = st.sampled_from([1, 2, 3, 4, 5, "3", 0, 6, True, 3.5, None])
_UNKNOWN_VALUES = st.one_of(st.text(max_size=5), _WRONG_TYPE)
_EMPTIES = ("", " ", "\t \n", "\xa0")
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
_ROLLS = st.integers(0, 19)
#: A lead of the pool: the index is taken modulo the pool's size, so that what a payload
#: draws never depends on the pool (a pool that shrinks leaves the stream as it was).
_LEADS = st.integers(0, 255)
_STYLES: dict[str, SearchStrategy[Any]] = {
    "phone": _PHONE_STYLES,
    "email": _EMAIL_STYLES,
    "text": _TEXT_STYLES,
}


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
    """A few leads' identifier values, spelled for a workspace whose default country is
    ``region``.  Token ``(field, i)`` names the i-th phone, email or text (by the type of
    ``field``) as the value of ``field``.  Values of one kind have pairwise different
    keys under the documented rules.
    """

    region: str
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    texts: tuple[str, ...]


@lru_cache(maxsize=256)
def _pool_numbers(region: str) -> SearchStrategy[str]:
    """E.164 numbers, two in three from ``region``."""
    home = valid_phone_numbers(region)
    return st.one_of(home, home, valid_phone_numbers()).map(lambda pair: pair[1])


def lead_pools(
    region: str = "IN", *, min_size: int = 1, max_size: int = 4
) -> SearchStrategy[LeadPool]:
    """A small pool of leads: E.164 phones (mostly from ``region``), emails, text ids."""
    numbers = _pool_numbers(_check_region(region))
    return st.builds(
        LeadPool,
        st.just(region),
        st.lists(numbers, min_size=min_size, max_size=max_size, unique=True).map(tuple),
        st.lists(emails(), min_size=min_size, max_size=max_size, unique_by=_email_identity).map(
            tuple
        ),
        st.lists(text_ids(), min_size=min_size, max_size=max_size, unique_by=_fold).map(tuple),
    )


def _check_region(region: str) -> str:
    if region not in _EXAMPLES:
        raise ValueError(f"region {region!r}: use one of PHONE_REGIONS, e.g. 'IN'")
    return region


#: What one identifier-type field of a payload carries: ``("pool", lead, style)``, or
#: ``(what, index, ())`` for null, empty, unusable and wrong-type values; None: left out.
_ValuePlan = tuple[str, int, tuple[Any, ...]] | None


@dataclass(frozen=True, slots=True)
class _PayloadPlan:
    """A payload before it meets a pool; optional parts are empty or 1-tuples."""

    values: tuple[_ValuePlan, ...] = ()
    name: tuple[Any, ...] = ()
    rating: tuple[Any, ...] = ()
    unknown: tuple[tuple[str, Any], ...] = ()
    order: int = 0
    actions: int = 0
    malformed: tuple[Any, ...] = ()


@lru_cache(maxsize=16)
def _value_plans(kind: str, primary: bool) -> SearchStrategy[_ValuePlan]:
    return _draw_value_plan(kind, primary)


@st.composite
def _draw_value_plan(draw: DrawFn, kind: str, primary: bool) -> _ValuePlan:
    """Roll 0 is the plain case: a pool value for the primary field, nothing for the
    others; the primary field is a pool value 7 times in 10."""
    roll = draw(_ROLLS)
    if roll == 14 or (roll < 8 and not primary):
        return None
    if roll < 14:
        return ("pool", draw(_LEADS), draw(_STYLES[kind]))
    if roll == 15:
        return ("null", 0, ())
    if roll == 16:
        return ("empty", draw(_below(len(_EMPTIES))), ())
    if roll < 19 and kind != "text":
        unusable = UNUSABLE_PHONES if kind == "phone" else UNUSABLE_EMAILS
        return ("unusable", draw(_below(len(unusable))), ())
    return ("wrong", draw(_below(len(_WRONG_TYPES))), ())


@lru_cache(maxsize=256)
def _payload_plans(
    config: WorkspaceConfig, primary: str, malformed: bool
) -> SearchStrategy[_PayloadPlan]:
    types = config.all_fields
    values = st.tuples(
        *(_value_plans(types[name], name == primary) for name in config.identifier_fields)
    )
    unknown = tuple(name for name in _UNKNOWN_FIELDS if name not in types)
    rating = config.fields.get("rating") == "rating"
    return _draw_payload_plan(values, rating, unknown, malformed)


@st.composite
def _draw_payload_plan(
    draw: DrawFn,
    values: SearchStrategy[tuple[_ValuePlan, ...]],
    rating: bool,
    unknown: tuple[str, ...],
    malformed: bool,
) -> _PayloadPlan:
    if malformed and draw(_below(30)) == 29:
        return _PayloadPlan(malformed=(draw(_MALFORMED),))
    plan_values = draw(values)
    if draw(_below(4)) == 0:  # the identifier fields alone, in field order
        return _PayloadPlan(values=plan_values)
    name = (draw(_NAMES),) if draw(_BOOLEANS) else ()
    rated = (draw(_RATINGS),) if rating and draw(_below(3)) == 2 else ()
    extra = draw(st.lists(_sampled(unknown), max_size=2, unique=True)) if unknown else []
    return _PayloadPlan(
        values=plan_values,
        name=name,
        rating=rated,
        unknown=tuple((n, draw(_UNKNOWN_VALUES)) for n in extra),
        order=draw(_SEEDS),
        actions=draw(_below(4)),
    )


def _render_value(kind: str, name: str, pool: LeadPool, plan: _ValuePlan) -> tuple[Any, Any]:
    """``(raw value, Expected or None)`` of one identifier-type field."""
    assert plan is not None
    what, index, style = plan
    if what == "pool":
        if kind == "phone":
            i = index % len(pool.phones)
            raw = _render_phone(pool.region, pool.phones[i], style)
            return raw, Expected(True, pool.phones[i], (name, i))
        if kind == "email":
            i = index % len(pool.emails)
            left, core, right = _render_email(pool.emails[i], style)
            return left + core + right, Expected(True, core, (name, i))
        i = index % len(pool.texts)
        raw = _render_text(pool.texts[i], style)
        return raw, Expected(True, raw, (name, i))
    if what == "null":
        return None, None
    if what == "empty":
        raw = _EMPTIES[index]
        if kind == "text":
            return raw, Expected(True, raw, None, empty=True)
        return raw, Expected(False, empty=True)
    if what == "unusable":
        return (UNUSABLE_PHONES if kind == "phone" else UNUSABLE_EMAILS)[index], Expected(False)
    return _WRONG_TYPES[index], Expected(False)


def _render(config: WorkspaceConfig, pool: LeadPool, plan: _PayloadPlan) -> LabelledPayload:
    """The labelled payload that ``plan`` makes of ``pool`` for ``config``."""
    if plan.malformed:
        return LabelledPayload(plan.malformed[0], {}, malformed=True)
    fields: dict[str, Any] = {}
    expected: dict[str, Expected] = {}
    types = config.all_fields
    for name, value in zip(config.identifier_fields, plan.values, strict=True):
        if value is not None:
            fields[name], label = _render_value(types[name], name, pool, value)
            if label is not None:
                expected[name] = label
    if plan.name:
        fields["name"] = plan.name[0]
        expected["name"] = _name_label(plan.name[0])
    if plan.rating:
        fields["rating"] = rating = plan.rating[0]
        if rating is not None:
            ok = type(rating) is int and 1 <= rating <= 5
            expected["rating"] = Expected(ok, rating if ok else None)
    fields.update(plan.unknown)
    order = list(fields)
    if plan.order:  # key order must not matter
        random.Random(plan.order).shuffle(order)
    body: dict[str, Any] = {"fields": {name: fields[name] for name in order}}
    if plan.actions == 1:
        body["actions"] = []
    elif plan.actions == 2:
        body["actions"] = [{"type": "ACTION_1001", "fields": {"note": "x"}}]
    return LabelledPayload(body, expected)


def _name_label(value: Any) -> Expected:
    if isinstance(value, str):
        return Expected(True, value, None, empty=not value.strip(_WHITESPACE))
    return Expected(False)


def _checked_pool(config: WorkspaceConfig, pool: LeadPool) -> LeadPool:
    if pool.region != config.country:
        raise ValueError(
            f"the pool's region {pool.region!r} is not the config's country {config.country!r}"
        )
    return pool


@lru_cache(maxsize=256)
def labelled_payloads(
    config: WorkspaceConfig | str,
    pool: LeadPool,
    *,
    identifier: str | None = None,
    malformed: bool = True,
) -> SearchStrategy[LabelledPayload]:
    """An Async API body over ``pool`` for a workspace created from ``config``, with its
    :class:`Expected` labels (``pool.region`` must be ``config.country``).

    The ``identifier`` field (by default ``config.identifier``) is usually a pool value
    in some spelling, sometimes missing, null, empty, unusable or of the wrong JSON
    type; the other :attr:`WorkspaceConfig.identifier_fields` appear less often.  Also
    ``name`` (text), ``rating`` (valid 1..5 or not), unknown fields (``Phone`` and
    ``EMAIL`` among them: API names are case-sensitive), null values, optional
    ``actions``, shuffled field order and, if ``malformed``, rarely a body that is not
    ``{"fields": {...}}``.  Shrinks to the identifier alone, in its plain spelling.
    """
    config = _as_config(config)
    primary = identifier or config.identifier
    if primary not in config.identifier_fields:
        raise ValueError(f"identifier {primary!r}: use one of {config.identifier_fields}")
    plans = _payload_plans(config, primary, malformed)
    return plans.map(partial(_render, config, _checked_pool(config, pool)))


def payloads(
    config: WorkspaceConfig | str = "phone", *, pool: LeadPool | None = None
) -> SearchStrategy[Any]:
    """Async API bodies ``{"fields": {...}, "actions": [...]}`` (see
    :func:`labelled_payloads`) for a workspace created from ``config``, over ``pool`` or
    a pool drawn with :func:`lead_pools`.

    The workspace must have the fields the payloads fill: create it from the config
    (``create_workspace(name, country=config.country, identifier=config.identifier,
    fields=config.fields)``).  A bare identifier name (``"phone"``, ``"email"`` or
    ``"customer_id"``) stands for ``WorkspaceConfig(identifier=...)``: country IN,
    ``fields=WORKSPACE_FIELDS``.
    """
    config = _as_config(config)
    pools = lead_pools(config.country) if pool is None else st.just(_checked_pool(config, pool))
    plans = _payload_plans(config, config.identifier, True)
    return st.tuples(pools, plans).map(lambda drawn: _render(config, *drawn).body)


def labelled_payload_streams(
    config: WorkspaceConfig | str = "phone",
    *,
    min_size: int = 1,
    max_size: int = 20,
    pool_size: int = 4,
) -> SearchStrategy[tuple[LeadPool, list[LabelledPayload]]]:
    """A pool of up to ``pool_size`` leads and a stream of labelled payloads over it (the
    same few leads recur) for a workspace created from ``config`` (see :func:`payloads`).

    The pool and the stream are drawn apart, the stream as plans whose draws do not
    depend on the pool, so both shrink on their own and quickly.
    """
    config = _as_config(config)
    plans = _payload_plans(config, config.identifier, True)
    return st.tuples(
        lead_pools(config.country, max_size=pool_size),
        st.lists(plans, min_size=min_size, max_size=max_size),
    ).map(partial(_render_stream, config))


def _render_stream(
    config: WorkspaceConfig, drawn: tuple[LeadPool, list[_PayloadPlan]]
) -> tuple[LeadPool, list[LabelledPayload]]:
    pool, plans = drawn
    return pool, [_render(config, pool, plan) for plan in plans]


def payload_streams(
    config: WorkspaceConfig | str = "phone",
    *,
    min_size: int = 1,
    max_size: int = 20,
    pool_size: int = 4,
) -> SearchStrategy[list[Any]]:
    """Streams of Async API bodies whose identifiers come from a few leads in varied
    spellings, so that ingesting them creates, updates and drops; for a workspace
    created from ``config`` (see :func:`payloads`)."""
    return labelled_payload_streams(
        config, min_size=min_size, max_size=max_size, pool_size=pool_size
    ).map(lambda drawn: [item.body for item in drawn[1]])
