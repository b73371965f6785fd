"""How a phone value is read in a default country (README "Matching rules", Phone).

Checked against what nobody on the project wrote: phonenumbers' own
``parse(value, region)`` (+ valid + E.164) and Faker's ``phone_number()`` for thirteen
locales.  Every value gets the key phonenumbers gives, or differs by one of the README's
named rules, and each rule's example is pinned here:
- digits that could be a national number but are invalid at home are unusable, never
  foreign (the international reading needs a prefix or more digits than a national
  number has);
- the default country's calling code without ``+`` (wins where there is a trunk prefix);
- two numbers in one field are unusable;
- letters are never keypad digits.
"""

from __future__ import annotations

import re

import phonenumbers
import pytest
from faker import Faker
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata, PhoneNumberFormat

from leadkey.domain.normalization import UnusableValue, phone_key

#: Default country -> Faker locale (13 regions, fixed-length and variable-length plans,
#: with and without a trunk prefix, international prefixes 00, 011, 010, 0011, 0[09]).
LOCALES = {
    "IN": "en_IN",
    "US": "en_US",
    "GB": "en_GB",
    "DE": "de_DE",
    "FR": "fr_FR",
    "BR": "pt_BR",
    "JP": "ja_JP",
    "MX": "es_MX",
    "AU": "en_AU",
    "IT": "it_IT",
    "NL": "nl_NL",
    "ID": "id_ID",
    "PL": "pl_PL",
}
REGIONS = tuple(LOCALES)
FAKER_VALUES = 200  # per locale
NOT_NATIONAL = "not a valid phone number for default country {}"
TWO_NUMBERS = "two phone numbers in one field"


def read(raw: str, region: str) -> tuple[str | None, str | None]:
    """leadkey's reading: (key, None) or (None, reason)."""
    try:
        return phone_key(raw, region), None
    except UnusableValue as error:
        return None, error.reason


def pn_key(raw: str, region: str | None) -> str | None:
    """phonenumbers alone: ``parse(raw, region)``, if valid, as E.164."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def metadata(region: str) -> PhoneMetadata:
    found = PhoneMetadata.metadata_for_region(region)
    assert found is not None
    return found


def calling_code(region: str) -> str:
    return str(metadata(region).country_code)


def trunk(region: str) -> str:
    return metadata(region).national_prefix or ""


def lengths(region: str, *, mobile_only: bool = False) -> list[int]:
    """Lengths of the region's fixed-line and mobile numbers (README step 6)."""
    data = metadata(region)
    descs = (data.mobile,) if mobile_only else (data.fixed_line, data.mobile)
    found = [n for desc in descs if desc is not None for n in desc.possible_length if n > 0]
    return found or [n for n in data.general_desc.possible_length if n > 0]


def national_digits(digits: str, region: str) -> str:
    prefix = trunk(region)
    return digits[len(prefix) :] if prefix and digits.startswith(prefix) else digits


def key_country(key: str) -> str:
    return str(phonenumbers.parse(key, None).country_code)


# -- the README's examples ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "old_foreign_key"),
    [
        ("(358)956-9256", "US", "+3589569256"),  # Finland
        ("53 6476-3679", "BR", "+5364763679"),  # Cuba
        ("51-1651-4590", "JP", "+5116514590"),  # Peru
        ("2434828713", "IN", "+2434828713"),  # DR Congo
        ("822.609.7187", "MX", "+8226097187"),  # South Korea
        ("01182421281", "IN", "+82421281"),  # 011 is Delhi in IN, not an international prefix
        ("01146208497", "GB", "+46208497"),  # ... and Leeds, Sheffield, ... in GB
    ],
)
def test_invalid_home_numbers_are_unusable_not_foreign(raw, region, old_foreign_key):
    assert pn_key(old_foreign_key, None) == old_foreign_key  # valid abroad, yet:
    assert pn_key(raw, region) is None
    assert read(raw, region) == (None, NOT_NATIONAL.format(region))


@pytest.mark.parametrize(
    ("raw", "region", "key"),
    [
        # step 6: the international reading, where phonenumbers' parse finds nothing
        ("001-972-343-4828", "US", "+19723434828"),  # longer than a US number; 00 dropped
        ("14155551234", "IN", "+14155551234"),  # longer than an Indian number
        ("919999999999", "US", "+919999999999"),
        ("0049906007", "US", "+49906007"),  # no US number starts with 0
        ("011 49 30 1234567", "DE", "+49301234567"),  # nor a German one with 11
        # ... but not where the digits may be national: DE numbers have up to 15 digits
        ("447911123456", "DE", "+49447911123456"),
        # step 4: the default country's calling code without + (trunk prefix: it wins)
        ("4915120548978", "DE", "+4915120548978"),
        ("49 (0) 151 20548978", "DE", "+4915120548978"),
        # ... no trunk prefix: a valid national reading wins
        ("390 731 9994", "IT", "+393907319994"),
        # ambiguous cases kept from before
        ("9199999999", "IN", "+919199999999"),
        ("4155551234", "IN", "+914155551234"),
        ("011 2345 6789", "IN", "+911123456789"),
        # a short extension is still an extension
        ("9999999999,1", "IN", "+919999999999"),
        ("206.269.0743x9150", "US", "+12062690743"),
        ("+1-780-563-6083x77834", "US", "+17805636083"),
    ],
)
def test_readme_phone_examples(raw, region, key):
    assert read(raw, region) == (key, None)


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("98765 43210, 91234 56789", "IN"),
        ("9876543210,9123456789", "IN"),
        ("+91 98765 43210 x 91234 56789", "IN"),
        ("+91 98765 43210, +91 91234 56789", "IN"),  # a + starts a second number
        ("202-555-0123 x 202-555-0124", "US"),
        ("030 1234567, 0151 20548978", "DE"),
        ("98765 43210,\u200991234 56789", "IN"),  # any whitespace separates
        ("98765 43210 x\u300091234 56789", "IN"),
    ],
)
def test_two_numbers_in_one_field_are_unusable(raw, region):
    assert read(raw, region) == (None, TWO_NUMBERS)


@pytest.mark.parametrize("space", ["\u202f", "\u2009", "\u3000", "\n", "\xa0"])
def test_any_whitespace_separates_digit_groups(space):
    assert read(f"98765{space}43210 ext.{space}12", "IN") == ("+919876543210", None)


@pytest.mark.parametrize("raw", ["+919999999999\x1f", "\x859999999999", "99999\x0099999"])
def test_a_control_character_makes_a_phone_unusable(raw):
    key, reason = read(raw, "IN")
    assert key is None and reason.startswith("contains a control character U+")


def test_a_region_without_phone_metadata_is_an_error_not_a_reading():
    with pytest.raises(ValueError, match="no phone number metadata for region 'in'"):
        phone_key("2434828713", "in")


def test_the_calling_code_rule_follows_the_trunk_prefix():
    """Step 4's measured decision, on a number valid both ways in each kind of country."""
    assert trunk("DE") == "0" and not trunk("IT")
    for raw, region, national, own in [
        ("4915120548978", "DE", "+494915120548978", "+4915120548978"),
        ("3907319994", "IT", "+393907319994", "+3907319994"),
    ]:
        assert pn_key(raw, region) == national
        assert pn_key("+" + raw, None) == own
        assert read(raw, region)[0] == (own if trunk(region) else national)


# -- properties -----------------------------------------------------------------------


@st.composite
def national_length_digits(draw):
    """``(digits, region)``: digits no longer than the region's numbers, not starting
    with 0 (so with no international prefix)."""
    region = draw(st.sampled_from(REGIONS))
    size = draw(st.integers(1, max(lengths(region))))
    first = draw(st.sampled_from("123456789"))
    rest = draw(st.text("0123456789", min_size=size - 1, max_size=size - 1))
    return first + rest, region


@settings(max_examples=400, deadline=None, derandomize=True)
@given(national_length_digits())
@example(("3589569256", "US"))
@example(("5364763679", "BR"))
@example(("5116514590", "JP"))
@example(("2434828713", "IN"))
@example(("8226097187", "MX"))
def test_digits_of_national_length_never_get_a_foreign_key(case):
    digits, region = case
    key, reason = read(digits, region)
    if key is None:
        assert reason == NOT_NATIONAL.format(region)
    else:
        assert key_country(key) == calling_code(region)


def explain(raw: str, region: str) -> str:
    """The README rule by which leadkey's reading of ``raw`` departs from phonenumbers'
    ``parse(raw, region)``; '' when they agree.  Fails when no rule explains it."""
    key, reason = read(raw, region)
    expected = pn_key(raw, region)
    if key == expected:
        return ""
    context = f"{raw!r} in {region}: leadkey {key or reason}, phonenumbers {expected}"
    if reason == "contains letters":
        assert any(c.isalpha() for c in raw), context
        return "letters"
    if reason == TWO_NUMBERS:
        tail = re.search(r"\d\s*[,xX]\s*(\+?)([\d\s().\-]+)$", raw)
        assert tail is not None, context
        digits = phonenumbers.normalize_digits_only(tail.group(2))
        assert tail.group(1) or len(digits) >= min(lengths(region, mobile_only=True)), context
        return "two numbers"
    if reason == "not a valid international phone number":
        # step 3: + is read as written; phonenumbers, given the region, also takes an
        # international prefix after it (+00 1 ..., +0091 ...)
        assert raw.lstrip()[:1] in ("+", "\uff0b") and pn_key(raw, None) is None, context
        return "plus as written"
    assert key is not None, context  # never unusable where phonenumbers has a number
    core = re.sub(r"(?:ext\.?|extension|x|#|,|;ext=)\s*\d{1,20}#?\s*$", "", raw, flags=re.I)
    digits = phonenumbers.normalize_digits_only(core)
    cc = calling_code(region)
    if digits.startswith(cc) and key == pn_key("+" + digits, None) and key_country(key) == cc:
        assert expected is None or trunk(region), context  # step 4
        return "calling code"
    assert expected is None, context  # a valid national reading is never overruled
    own = re.match(metadata(region).international_prefix or "$^", digits)
    if own is not None and own.end() and key == pn_key("+" + digits[own.end() :], None):
        return "international: own prefix"
    prefix = next((p for p in ("00", "011") if digits.startswith(p)), "")
    assert key == pn_key("+" + digits[len(prefix) :], None), context
    national = national_digits(digits, region)
    if len(national) > max(lengths(region)):
        return "international: longer than a national number"
    assert prefix and not may_be_national(national, region), context
    return "international: 00 or 011 that no national number starts with"


def may_be_national(national: str, region: str) -> bool:
    """README step 6: the digits match the region's general pattern and the leading
    digits of one of its number formats."""
    data = metadata(region)
    if not re.fullmatch(data.general_desc.national_number_pattern, national):
        return False
    starts = [f.leading_digits_pattern[-1] for f in data.number_format if f.leading_digits_pattern]
    unrestricted = not data.number_format or len(starts) < len(data.number_format)
    return unrestricted or any(re.match(p, national) for p in starts)


def test_faker_values_get_phonenumbers_key_or_a_named_rule():
    rules: dict[str, set[str]] = {}
    for region, locale in LOCALES.items():
        fake = Faker(locale)
        fake.seed_instance(20240)
        for _ in range(FAKER_VALUES):
            raw = fake.phone_number()
            rules.setdefault(explain(raw, region), set()).add(region)
    # the US and MX locales write +1 numbers as 001-... and 1-...: read as +1
    assert {"US", "MX"} <= rules["international: longer than a national number"]
    assert "" in rules


def own_prefix(region: str) -> str | None:
    """The region's international prefix as dialled, where it is one fixed string."""
    data = metadata(region)
    prefix = data.preferred_international_prefix or data.international_prefix
    return prefix if prefix and prefix.isdigit() else None


@st.composite
def valid_national_numbers(draw, regions=REGIONS):
    """``(region, e164)``: a valid fixed-line or mobile number matching the region's
    pattern for that type (drawn from phonenumbers' own patterns)."""
    region = draw(st.sampled_from(regions))
    data = metadata(region)
    desc = draw(st.sampled_from([data.fixed_line, data.mobile]))
    nsn = draw(st.from_regex(desc.national_number_pattern, fullmatch=True, alphabet="0123456789"))
    e164 = pn_key(f"+{data.country_code}{nsn}", None)
    assume(e164 is not None)
    assume(phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) == region)
    return region, e164


def spellings(e164: str, region: str) -> dict[str, str]:
    """Ways a user in ``region`` writes a number of ``region``."""
    number = phonenumbers.parse(e164, None)
    cc = str(number.country_code)
    nsn = phonenumbers.national_significant_number(number)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    out = {
        "e164": e164,
        "international": phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        "tel": phonenumbers.format_number(number, PhoneNumberFormat.RFC3966),
        "national": national,
        "fullwidth national": "".join(
            chr(0xFF10 + int(c)) if "0" <= c <= "9" else c for c in national
        ),
        "nsn": nsn,
        "cc nsn": f"{cc} {nsn}",
        "00 cc nsn": f"00 {cc} {nsn}",
        "tel: national": "tel:" + national,
        "national x12": national + " x12",
    }
    if trunk(region):
        out["trunk nsn"] = f"{trunk(region)}-{nsn}"
        out["cc (trunk) nsn"] = f"{cc} ({trunk(region)}) {nsn}"
    if own_prefix(region):
        out["own prefix cc nsn"] = f"{own_prefix(region)} {cc}.{nsn}"
    return out


@settings(max_examples=250, deadline=None, derandomize=True)
@given(valid_national_numbers())
@example(("DE", "+4915120548978"))
@example(("IT", "+393907319994"))
def test_spellings_of_valid_numbers_read_as_the_number_or_a_named_rule(case):
    region, e164 = case
    for form, raw in spellings(e164, region).items():
        explain(raw, region)
        key, reason = read(raw, region)
        digits = phonenumbers.normalize_digits_only(raw)
        cc = calling_code(region)
        national = pn_key(digits, region) if not raw.lstrip().startswith("+") else None
        own = pn_key("+" + digits, None) if digits.startswith(cc) else None
        both = national is not None and own is not None and national != own
        if both and form in ("nsn", "national", "fullwidth national", "cc nsn"):
            # step 4: measured, documented
            assert key == (own if trunk(region) else national), (form, raw, region)
        elif form == "00 cc nsn" and own_prefix(region) != "00":
            # 00 where it is not the international prefix: read as such only where the
            # digits cannot be national (README step 6)
            assert key in (e164, None), (form, raw, region, key)
        else:
            assert key == e164, (form, raw, region, key, reason)
