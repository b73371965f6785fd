"""The fast paths give exactly the full path's key, and leave everything else to it:

- plain ASCII email addresses against email-validator: a differential property over
  addresses built near every edge of the grammar, and Faker's addresses in many locales
  (which it must take);
- plain phone numbers against phonenumbers (the full path: its parse, validity and
  E.164, with leadkey's readings): a differential property over numbers made from
  phonenumbers' own example numbers of every supported region, changed digit by digit
  and prefixed as people write them, and random digits."""

from __future__ import annotations

import re

import email_validator
import phonenumbers
import pytest
from email_validator.rfc_constants import ATEXT
from faker import Faker
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from leadkey.domain import normalization
from leadkey.domain.errors import UnusableValue
from leadkey.domain.normalization import (
    SUPPORTED_REGIONS,
    _email_result,
    _phone_result,
    _plain_email_key,
    _plain_phone_key,
    email_key,
    phone_key,
)

#: email-validator's atext, unescaped, and characters around it that it refuses or reads
#: differently (quotes, spaces, ``@``, brackets, non-ASCII letters and marks).
ATEXT_CHARS = ATEXT.replace("\\", "").replace("a-zA-Z0-9", "aZ09")
NEAR_LOCAL = ATEXT_CHARS + '."@ ()<>[]\\,;:é\u0301ßİﬀ\x7f'
LABEL_CHARS = "abcXYZ019-"
NEAR_LABEL = LABEL_CHARS + "_.é\uff21ß\u00adİ"

labels = st.one_of(
    st.text(LABEL_CHARS, min_size=1, max_size=8),
    st.text(NEAR_LABEL, min_size=0, max_size=8),
    st.integers(60, 66).map(lambda n: "a" * n),  # (the 63-character label limit)
    st.sampled_from(["xn--bcher-kva", "XN--A", "ab--c", "a--b", "-a", "a-", "123"]),
)
tlds = st.one_of(
    labels,
    st.sampled_from(email_validator.SPECIAL_USE_DOMAIN_NAMES),
    st.sampled_from(["com", "IN", "co1", "c", "LOCAL", "Onion", "example", "xn--p1ai"]),
)
domains = st.one_of(
    st.builds(lambda ls, tld: ".".join([*ls, tld]), st.lists(labels, max_size=4), tlds),
    st.integers(240, 260).map(lambda n: ("a" * 62 + ".") * (n // 63) + "com"),
    st.sampled_from(["[127.0.0.1]", "example.com.", ".example.com", "b..com"]),
)
locals_ = st.one_of(
    st.text(ATEXT_CHARS + ".", min_size=1, max_size=12),
    st.text(NEAR_LOCAL, max_size=12),
    st.integers(60, 70).map(lambda n: "a" * n),
)
addresses = st.builds(lambda local, domain: f"{local}@{domain}", locals_, domains)


@settings(max_examples=3000, deadline=None)
@given(addresses)
@example("Jane.Doe+tag@Example.CO.in")
@example("a@xn--bcher-kva.de")  # (Punycode: email-validator's)
@example("a@b.c1")  # (no top-level domain ends with a digit)
@example("x@mail.LOCAL")  # (special-use, in any case)
@example("a@" + ("a" * 62 + ".") * 4 + "com")  # (over 253 characters after the @)
def test_the_fast_path_is_email_validators_key_or_stands_aside(address: str) -> None:
    fast = _plain_email_key(address)
    if fast is not None:
        assert _email_result(address) == (fast, None)


FAKER_LOCALES = ["en_US", "en_IN", "de_DE", "fr_FR", "ja_JP", "pt_BR", "ru_RU", "zh_CN"]


@pytest.mark.parametrize("locale", FAKER_LOCALES)
def test_fakers_addresses_take_the_fast_path_with_the_same_key(locale: str) -> None:
    fake = Faker(locale)
    fake.seed_instance(7)
    for _ in range(300):
        for address in (fake.email(), fake.company_email(), fake.free_email()):
            assert _email_result(address) == (_plain_email_key(address), None), address


def test_email_key_answers_alike_through_either_path() -> None:
    assert email_key(" Jane.Doe@Example.COM ").key == "jane.doe@example.com"
    assert email_key("Jane.Doe@Example.COM").display == "Jane.Doe@Example.COM"
    with pytest.raises(UnusableValue, match="special-use"):
        email_key("jane@mail.local")


REGIONS = sorted(SUPPORTED_REGIONS)


def examples(region: str) -> list[str]:
    """The national significant numbers of phonenumbers' example numbers for ``region``."""
    found = (
        phonenumbers.example_number_for_type(region, kind)
        for kind in vars(phonenumbers.PhoneNumberType).values()
        if isinstance(kind, int)
    )
    return [phonenumbers.national_significant_number(n) for n in found if n is not None]


@st.composite
def phone_values(draw: st.DrawFn) -> tuple[str, str]:
    """A default country and a value: an example number of it or of another region,
    perhaps changed (a digit replaced, dropped or added), perhaps after a prefix (its
    calling code with or without ``+`` or after an international prefix, a trunk or
    international prefix, ``0``), or random digits."""
    region = draw(st.sampled_from(REGIONS))
    of = draw(st.sampled_from([region, region, *REGIONS]))
    numbers = examples(of)
    if numbers and draw(st.booleans()):
        digits = draw(st.sampled_from(numbers))
        change = draw(st.sampled_from(["none", "replace", "drop", "add"]))
        at = draw(st.integers(0, len(digits) - 1))
        digit = draw(st.sampled_from("0123456789"))
        digits = {
            "none": digits,
            "replace": digits[:at] + digit + digits[at + 1 :],
            "drop": digits[:at] + digits[at + 1 :],
            "add": digits[:at] + digit + digits[at:],
        }[change]
        code = str(phonenumbers.country_code_for_region(of))
        prefix = draw(
            st.sampled_from(["", "", "+" + code, code, "0", "00", "011", "+", "00" + code])
        )
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        parsing = [metadata.national_prefix_for_parsing, metadata.international_prefix]
        patterns = [p for p in parsing if p]
        if draw(st.integers(0, 5)) == 0:  # (a national number that starts as the code)
            digits = code + digits[len(code) :]
        if patterns and draw(st.booleans()):  # (what parsing strips in the default country)
            pattern = draw(st.sampled_from(patterns))
            prefix = draw(st.from_regex(re.compile(pattern, re.ASCII), fullmatch=True))
            assume(prefix.isdigit())
            prefix += draw(st.sampled_from(["", code]))  # (an international prefix, then +)
        return region, prefix + digits
    digits = draw(st.text("0123456789", min_size=1, max_size=18))
    return region, draw(st.sampled_from(["", "+"])) + digits


@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(phone_values())
@example(("IN", "9876543210"))
@example(("IN", "+919876543210"))
@example(("DE", "3012345678"))
@example(("US", "+4930123456"))
@example(("PL", "483095308"))  # (valid as a national number and as +48 3095308)
@example(("DE", "4930123456"))  # (the calling code without +, in a trunk-prefix country)
@example(("IN", "00919876543210"))  # (the international prefix in place of +)
@example(("IN", "000919876543210"))  # (0 after it: not read as one)
def test_the_phone_fast_path_is_the_full_paths_key_or_stands_aside(
    case: tuple[str, str],
) -> None:
    region, value = case
    fast = _plain_phone_key(value, region)
    if fast is not None:
        assert _phone_result(value, region) == (fast, None)


@pytest.mark.parametrize("region", ["IN", "DE", "FR", "BR", "JP", "ID", "PL", "AE"])
def test_plain_numbers_take_the_phone_fast_path(region: str) -> None:
    mobile = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = phonenumbers.national_significant_number(mobile)
    code = phonenumbers.country_code_for_region(region)
    key = f"+{code}{national}"
    for value in (national, f"+{code}{national}"):
        assert _plain_phone_key(value, region) == key
    idd = phonenumbers.PhoneMetadata.metadata_for_region(region).international_prefix
    if idd.isdigit():  # (00 in most, 010 in JP; a pattern in BR and ID: full path)
        assert _plain_phone_key(f"{idd}{code}{national}", region) == key
    assert phone_key(f"+{code} {national[:3]}-{national[3:]}", region) == key


def test_numbers_of_a_shared_calling_code_take_the_full_path() -> None:
    assert _plain_phone_key("2015550123", "US") is None  # (+1: the US, Canada and more)
    assert _plain_phone_key("+442079460958", "IN") is None  # (+44: GB, Jersey and more)
    assert phone_key("(201) 555-0123", "US") == "+12015550123"


#: Default country -> Faker locale, where Faker writes phone numbers.
PHONE_LOCALES = {
    "IN": "en_IN",
    "DE": "de_DE",
    "FR": "fr_FR",
    "BR": "pt_BR",
    "JP": "ja_JP",
    "ID": "id_ID",
    "PL": "pl_PL",
    "NL": "nl_NL",
    "US": "en_US",
    "GB": "en_GB",
}


def _read(raw: str, region: str) -> tuple[str | None, str | None]:
    try:
        return phone_key(raw, region), None
    except UnusableValue as error:
        return None, error.reason


@pytest.mark.parametrize("region", sorted(PHONE_LOCALES))
def test_fakers_phone_numbers_read_alike_with_and_without_the_fast_path(
    region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of Faker's spellings (separators, trunk and international prefixes,
    extensions) is read the same through ``phone_key`` with the fast path and without;
    most take it, except where the calling code is shared (+1, +44) or the trunk prefix
    is not plain (JP)."""
    fake = Faker(PHONE_LOCALES[region])
    fake.seed_instance(11)
    values = [fake.phone_number() for _ in range(300)]
    taken: list[bool] = []
    fast_path = normalization._plain_phone_key

    def counted(value: str, region: str) -> str | None:
        key = fast_path(value, region)
        taken.append(key is not None)
        return key

    normalization.forget()
    monkeypatch.setattr(normalization, "_plain_phone_key", counted)
    with_fast = [_read(value, region) for value in values]
    assert (sum(taken) > 100) == (region not in {"US", "GB", "JP"})
    monkeypatch.setattr(normalization, "_plain_phone_key", lambda value, region: None)
    normalization.forget()  # (no memo entry from the first reading)
    assert [_read(value, region) for value in values] == with_fast
