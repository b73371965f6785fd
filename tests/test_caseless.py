"""Canonical caseless text, exactly, and exactly what is trimmed.

Text keys (and email local parts) are ``NFC(casefold(NFD(s)))``: two values share a key
exactly when Unicode calls them canonical caseless matches (D145,
``NFD(casefold(NFD(a))) == NFD(casefold(NFD(b)))``).  Phones and emails are trimmed of
whitespace (tab, LF, VT, FF, CR, Zs, Zl, Zp) and zero-width characters, and of nothing
else: a control character left in an email makes it unusable.

The oracles here are Unicode facts (``unicodedata``), never leadkey's own constants.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leadkey.adapters.strategies import emails
from leadkey.domain.field_types import FieldType, coerce
from leadkey.domain.normalization import (
    _WHITESPACE,
    UnusableValue,
    email_key,
    fold_text,
    phone_key,
    text_key,
)

# -- Unicode facts -----------------------------------------------------------------------


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def d145(text: str) -> str:
    """The canonical caseless form of Unicode definition D145."""
    return nfd(nfd(text).casefold())


@cache
def code_points() -> tuple[str, ...]:
    return tuple(chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i <= 0xDFFF)


@cache
def whitespace() -> frozenset[str]:
    """Whitespace as the README defines it: tab, LF, VT, FF, CR, Zs, Zl, Zp."""
    separators = {c for c in code_points() if unicodedata.category(c) in ("Zs", "Zl", "Zp")}
    return frozenset("\t\n\v\f\r") | separators


ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")


@cache
def edge_characters() -> tuple[str, ...]:
    """Characters a trimming rule has to decide on: everything ``str.strip()`` removes,
    every control (Cc), format (Cf) and separator (Z*) character."""
    return tuple(
        c
        for c in code_points()
        if c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Zs", "Zl", "Zp")
    )


def test_the_whitespace_set_is_str_strip_without_its_control_characters():
    """leadkey's whitespace is the README's, and next to Python's: ``str.strip()`` also
    removes U+001C-U+001F and U+0085, which are control characters (Cc)."""
    assert set(_WHITESPACE) == whitespace()
    removed = {c for c in code_points() if c.isspace()} - whitespace()
    assert removed == set("\x1c\x1d\x1e\x1f\x85")
    assert {unicodedata.category(c) for c in removed} == {"Cc"}
    assert whitespace() - {c for c in code_points() if c.isspace()} == set()


# -- text: canonical caseless match (D145) -----------------------------------------------

_GREEK_IOTA_SUBSCRIPT = [c for c in map(chr, range(0x1F80, 0x2000)) if "\u0345" in nfd(c)]

#: Pieces whose folding interacts with normalization: marks, ypogegrammeni and Greek
#: letters carrying it, Hangul jamo and syllables, ß/ẞ, σ/ς, ligatures, İ/ı, Cherokee
#: (whose case folding goes to upper case), precomposed and decomposed letters.
PIECES: tuple[str, ...] = (
    "\u0345",
    "\u0308",
    "\u0342",
    "\u0301",
    "\u0313",
    "\u0323",
    "\u0307",
    "\u031b",
    "Α",
    "α",
    "Ι",
    "ι",
    "Η",
    "η",
    "Ω",
    "ω",
    "Υ",
    "υ",
    "ϊ",
    "ΐ",
    "ΰ",
    *_GREEK_IOTA_SUBSCRIPT,
    "\u1100",
    "\u1161",
    "\u11a8",
    "가",
    "각",
    "ß",
    "ẞ",
    "ss",
    "ς",
    "σ",
    "Σ",
    "ﬁ",
    "ﬀ",
    "ﬃ",
    "ﬆ",
    "ŉ",
    "İ",
    "ı",
    "i",
    "I",
    "Ꭰ",
    "ꭰ",
    "ᏸ",
    "Ᏸ",
    "é",
    "e\u0301",
    "Å",
    "\u212b",
    "A\u030a",
    "ǰ",
    "J\u030c",
    "ṩ",
    "s\u0323\u0307",
    "s\u0307\u0323",
    "ǅ",
    "\u212a",
    " ",
)

_RICH = st.lists(
    st.one_of(
        st.sampled_from(PIECES),
        st.characters(min_codepoint=0x300, max_codepoint=0x36F),
        st.characters(min_codepoint=0x1F00, max_codepoint=0x1FFF),
        st.characters(min_codepoint=0x13A0, max_codepoint=0x13FF),
        st.characters(min_codepoint=0xAB70, max_codepoint=0xABBF),
    ),
    max_size=8,
).map("".join)

#: Strings rich in combining sequences, and anything at all.
texts = st.one_of(_RICH, st.text(max_size=12))

#: Ways to get a second string from a first: case mappings, normalization forms, naive
#: foldings (which are *not* always caseless-equal), and swapping two neighbours.
_DERIVATIONS: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "lower": str.lower,
    "title": str.title,
    "swapcase": str.swapcase,
    "casefold": str.casefold,
    "nfc": nfc,
    "nfd": nfd,
    "nfc casefold nfc": lambda s: nfc(nfc(s).casefold()),
    "nfc casefold": lambda s: nfc(s.casefold()),
    "casefold nfc": lambda s: nfc(s).casefold(),
    "nfd upper": lambda s: nfd(s).upper(),
    "nfc title": lambda s: nfc(s).title(),
}


@st.composite
def text_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """Two strings, often caseless-equal, often only nearly so."""
    a = draw(texts)
    how = draw(st.sampled_from([*_DERIVATIONS, "swap", "per character", "independent"]))
    if how in _DERIVATIONS:
        return a, _DERIVATIONS[how](a)
    if how == "swap":
        if len(a) < 2:
            return a, a
        i = draw(st.integers(0, len(a) - 2))
        return a, a[:i] + a[i + 1] + a[i] + a[i + 2 :]
    if how == "per character":
        source = draw(st.sampled_from([a, nfd(a), nfc(a)]))
        maps = st.sampled_from([str.upper, str.lower, str.title, str.casefold, nfd])
        return a, "".join(draw(maps)(c) for c in source)
    return a, draw(texts)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("ᾷ", "ᾷ".title(), True),  # U+1FB7 and Α U+0342 U+0345: caseless-equal
        ("Α\u0345\u0308", "αϊ", False),  # ypogegrammeni reorders after the diaeresis
        ("ᾼ\u0308", "αϊ", False),
    ],
)
def test_ypogegrammeni_meeting_another_mark(a, b, equal):
    assert (d145(a) == d145(b)) is equal  # what Unicode says
    assert (text_key(a) == text_key(b)) is equal
    assert (fold_text(a) == fold_text(b)) is equal


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("ᾷ@example.com", "ᾷ".title() + "@example.com", True),
        ("Α\u0345\u0308@example.com", "αϊ@example.com", False),
    ],
)
def test_email_local_parts_fold_like_text(a, b, equal):
    assert (email_key(a).key == email_key(b).key) is equal


@settings(max_examples=1500, deadline=None)
@given(text_pairs())
@example(("ᾷ", "ᾷ".title()))
@example(("Α\u0345\u0308", "αϊ"))
def test_equal_keys_exactly_for_canonical_caseless_matches(pair):
    a, b = pair
    assert (fold_text(a) == fold_text(b)) == (d145(a) == d145(b))


@settings(max_examples=1000, deadline=None)
@given(texts)
def test_the_key_is_the_nfc_representative_of_the_canonical_caseless_form(text):
    key = fold_text(text)
    assert d145(key) == d145(text)  # the key is caseless-equal to the value
    assert nfc(key) == key
    assert fold_text(key) == key
    assert fold_text(nfc(text)) == fold_text(nfd(text)) == key


# -- what is trimmed ---------------------------------------------------------------------


def test_a_text_identifier_is_empty_exactly_when_it_is_only_whitespace():
    for c in edge_characters():
        try:
            key = text_key(c + c)
        except UnusableValue as error:
            assert error.empty, repr(c)
            assert c in whitespace(), f"U+{ord(c):04X} made the text identifier empty"
        else:
            assert c not in whitespace(), f"U+{ord(c):04X} is whitespace"
            assert key == fold_text(c + c)


def test_a_text_field_has_a_key_exactly_when_it_could_be_the_identifier():
    """A text field's candidate key (used when it becomes the identifier) follows the
    identifier's own rule, so a switch reaches the same leads a payload would match."""
    for c in edge_characters():
        value = coerce(FieldType.TEXT, c + c, country="IN", timezone="UTC")
        try:
            expected = text_key(c + c)
        except UnusableValue:
            expected = None
        assert value.key == expected, f"U+{ord(c):04X}"


def test_emails_are_trimmed_of_whitespace_and_zero_width_characters_only():
    trimmed = whitespace() | ZERO_WIDTH
    for c in edge_characters():
        try:
            value = email_key(f"{c}Jane.Doe@Example.com{c}")
        except UnusableValue as error:
            assert not error.empty
            assert c not in trimmed, f"U+{ord(c):04X} was not trimmed: {error.reason}"
        else:
            assert c in trimmed, f"U+{ord(c):04X} was trimmed"
            assert (value.display, value.key) == ("Jane.Doe@Example.com", "jane.doe@example.com")


def test_phones_are_trimmed_like_emails():
    """The phone rule shares the trimming: a value of only whitespace and zero-width
    characters is empty; a control character is not trimmed, so it is not empty."""
    trimmed = whitespace() | ZERO_WIDTH
    for c in edge_characters():
        with pytest.raises(UnusableValue) as caught:
            phone_key(c + "\u200b" + c, "IN")
        assert caught.value.empty is (c in trimmed), f"U+{ord(c):04X}"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("a@example.com\x1f", "U+001F"),
        ("\x1ca@example.com", "U+001C"),
        ("a@example.com\x85", "U+0085"),
        ("\x85a@example.com", "U+0085"),
        (" a@example.com\x1e ", "U+001E"),
        ("a@example.com\t\x1d", "U+0009"),  # the tab is not at the end: not trimmed
        ("a@example.com\x00", "U+0000"),
        ("a\t@example.com", "U+0009"),  # whitespace is trimmed only around the address
    ],
)
def test_a_control_character_makes_an_email_unusable(raw, code):
    with pytest.raises(UnusableValue) as caught:
        email_key(raw)
    assert not caught.value.empty
    assert f"contains a control character {code}" in caught.value.reason


@settings(max_examples=300, deadline=None)
@given(
    address=emails(),
    control=st.sampled_from([c for c in map(chr, range(0xA0)) if unicodedata.category(c) == "Cc"]),
    where=st.sampled_from(["start", "end", "inside"]),
)
def test_emails_with_a_control_character_are_unusable(address, control, where):
    if where == "inside":
        i = len(address) // 2
        raw = address[:i] + control + address[i:]
    elif control in whitespace():
        return  # tab, LF, VT, FF and CR around the address are whitespace, trimmed
    else:
        raw = control + address if where == "start" else address + control
    with pytest.raises(UnusableValue) as caught:
        email_key(raw)
    assert "control character" in caught.value.reason
