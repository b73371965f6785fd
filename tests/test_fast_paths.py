"""The fast path for plain ASCII email addresses gives exactly email-validator's key, and
leaves everything else to it: a differential property over addresses built near every
edge of the grammar, and Faker's addresses in many locales (which it must take)."""

from __future__ import annotations

import email_validator
import pytest
from email_validator.rfc_constants import ATEXT
from faker import Faker
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leadkey.domain.errors import UnusableValue
from leadkey.domain.normalization import _email_result, _plain_email_key, email_key

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
