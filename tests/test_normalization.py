"""Normalization rules: every rule and every ambiguous case, pinned by example and by property.

Sources: telecrm-reference.md section 1.4, ambiguities A6/A7/A27/A29 and test vectors 1-13,
25, 26, 43-46; the normalization guide's tables (guides/normalization*.md).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from uuid import UUID

import pytest
from email_validator import validate_email
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from leadkey.adapters.application import Leadkey
from leadkey.adapters.strategies import (
    PHONE_REGIONS,
    email_variants,
    emails,
    phone_spellings,
    text_ids,
    text_variants,
    valid_phone_numbers,
)
from leadkey.domain.decisions import Decision, DropReason, Outcome
from leadkey.domain.normalization import (
    UnusableValue,
    email_key,
    fold_text,
    phone_key,
    text_key,
)

L1_KEY = "+919999999999"
#: Whitespace as the README defines it: tab, LF, VT, FF, CR, and the Zs, Zl, Zp characters.
WHITESPACE = "\t\n\v\f\r" + "".join(
    c for c in map(chr, range(0x10000)) if unicodedata.category(c) in ("Zs", "Zl", "Zp")
)
NON_STRINGS = [None, 919999999999, 9.5, True, False, [], ["9999999999"], {}, {"phone": "1"}]


def unusable(call, *args) -> UnusableValue:
    with pytest.raises(UnusableValue) as caught:
        call(*args)
    return caught.value


# -- phone: one number, many spellings (reference 1.4, A6, A27) ------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+919999999999",  # E.164
        "919999999999",  # cc + national number, no plus (1.4)
        "9999999999",  # national: the workspace default country is added (1.4)
        "09999999999",  # trunk 0 (A27)
        "0 99999 99999",
        "00919999999999",  # 00 international prefix (A27)
        "0091 9999999999",
        "+91 99999-99999",  # separators are tolerated (A6, vector 11)
        "(+91) 9999999999",
        "+91 (0) 99999 99999",
        "99999.99999",
        "(99999) 99999",
        "  9999999999\n",  # surrounding whitespace
        "\t+919999999999\xa0",
        "99999\xa099999",  # NBSP inside
        "\u200b9999999999\ufeff",  # zero-width space / BOM around
        "tel:+91-99999-99999",  # RFC 3966
        "TEL:+919999999999",
        "+91 99999 99999 x123",  # extensions are never part of the key
        "+91 99999 99999 ext. 7",
        "tel:+91-99999-99999;ext=12",
        "9999999999#45",
        "9999999999,1",
        "９９９９９９９９９９",  # full-width digits
        "＋９１ ９９９９９ ９９９９９",  # full-width plus and digits
        "٩٩٩٩٩٩٩٩٩٩",  # Arabic-Indic digits
        "९९९९९९९९९९",  # Devanagari digits
    ],
)
def test_spellings_of_one_indian_number_share_one_key(raw):
    assert phone_key(raw, "IN") == L1_KEY


@pytest.mark.parametrize(
    ("raw", "region", "key"),
    [
        # a 10-digit number that starts with 91 is national in IN (1.4, vector 12)
        ("9199999999", "IN", "+919199999999"),
        ("9191234567", "IN", "+919191234567"),
        ("919191234567", "IN", "+919191234567"),
        # cc + nsn without plus in a US workspace: no US reading, so +91 (guide 1.4)
        ("919999999999", "US", "+919999999999"),
        # 00 is not the US international prefix; the digits after it are read as +cc...
        ("00919999999999", "US", "+919999999999"),
        ("011 91 99999 99999", "US", "+919999999999"),  # ...and 011 is
        ("011 2345 6789", "IN", "+911123456789"),  # 011 in IN is Delhi, not an IDD
        # same digits, different default country, different number
        ("6502530000", "IN", "+916502530000"),
        ("6502530000", "US", "+16502530000"),
        # local-length input: the workspace default wins (guide 1.4)
        ("4155551234", "IN", "+914155551234"),
        # no valid local reading, longer than a national number: cc + nsn without plus
        ("447911123456", "IN", "+447911123456"),
        ("14155551234", "IN", "+14155551234"),
        # the default country's calling code without plus wins where there is a trunk
        # prefix, even over a valid national reading (README, Phone step 4)
        ("4915123456789", "DE", "+4915123456789"),
        # leading zeros of the national number are kept (IT)
        ("06 1234 5678", "IT", "+390612345678"),
        ("+39 06 1234 5678", "IT", "+390612345678"),
        ("+1 202 555 0123 x123", "US", "+12025550123"),
        ("+1 202 555 0123;ext=123", "US", "+12025550123"),
        ("(202) 555-0123", "US", "+12025550123"),
    ],
)
def test_phone_rules_by_region(raw, region, key):
    assert phone_key(raw, region) == key


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("99999", "IN"),  # vector 7
        ("12345", "IN"),
        ("+91999999999", "IN"),  # possible but not valid (vector 13, A8)
        ("+91999999999", "US"),
        ("+15555555555", "US"),  # fictional US range
        ("+39 6 1234 5678", "IT"),  # not the same number as 06 1234 5678, and invalid
        ("9999999999", "US"),  # possible but not valid in the US
        ("99999-99999 / 88888-88888", "IN"),  # two numbers
        ("+0091 99999 99999", "IN"),  # no country code 0
        ("+", "IN"),
        ("tel:", "IN"),
        ("--", "IN"),
        ("9" * 65, "IN"),  # longer than 64 characters
    ],
)
def test_invalid_phone_numbers_are_unusable(raw, region):
    error = unusable(phone_key, raw, region)
    assert not error.empty
    assert error.reason


@pytest.mark.parametrize(
    "raw",
    [
        "1-800-FLOWERS",  # no keypad letters
        "+1 800 FLOWERS",
        "99999OOOOO",  # letter O, not zero
        "9999999999 (mobile)",
        "+91 99999 99999 (mobile)",
        "N/A",
        "Phone: 9999999999",
        "９９９９９ ９９９９９ ａ",  # full-width letters are letters
        "٩٩٩٩٩ ٩٩٩٩٩ ب",
    ],
)
def test_letters_make_a_phone_unusable(raw):
    error = unusable(phone_key, raw, "IN")
    assert "letters" in error.reason


@pytest.mark.parametrize("raw", ["", " ", "\t\n", "\xa0\u3000", "\u200b", " \ufeff "])
def test_empty_phone_is_unusable_and_marked_empty(raw):
    assert unusable(phone_key, raw, "IN").empty


@pytest.mark.parametrize("raw", NON_STRINGS)
def test_non_string_phone_is_unusable(raw):
    error = unusable(phone_key, raw, "IN")
    assert not error.empty
    assert "JSON string" in error.reason


def test_phone_key_of_a_key_is_the_key():
    for region in ("IN", "US", "GB", "DE"):
        assert phone_key(L1_KEY, region) == L1_KEY


# -- email (reference 1.4, vectors 25, 26, 43) ----------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "jane.doe@example.com",
        "Jane.Doe@Example.com",
        "JANE.DOE@EXAMPLE.COM",
        " JANE.DOE@example.com ",  # vector 43
        "\tjane.doe@example.com\n",
        "\xa0jane.doe@example.com\u3000",
        "\u200bjane.doe@example.com\ufeff",  # zero-width characters from copy-paste
    ],
)
def test_email_case_and_surrounding_whitespace_are_ignored(raw):
    assert email_key(raw).key == "jane.doe@example.com"


def test_email_display_is_trimmed_but_keeps_its_case():
    # vector 25: stored as Jane.Doe@Example.com
    assert email_key(" Jane.Doe@Example.com ").display == "Jane.Doe@Example.com"
    assert email_key("\u200bJane.Doe@Example.com\n").display == "Jane.Doe@Example.com"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("JOHN@BÜCHER.DE", "john@xn--bcher-kva.de"),  # IDN domain in ASCII form
        ("john@bücher.de", "John@XN--BCHER-KVA.DE"),
        ("straße@x.com", "STRASSE@x.com"),  # the local part is case-folded (ß = ss)
        ("e\u0301@x.com", "é@x.com"),  # NFC
        ("john@STRAßE.de", "john@straße.de"),  # case of the domain (IDNA maps it)
        ("ΣΊΣΥΦΟΣ@x.com", "σίσυφος@x.com"),  # final sigma in the local part
    ],
)
def test_equal_email_keys(a, b):
    assert email_key(a).key == email_key(b).key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # The domain is not case-folded: IDNA 2008 keeps ß and ς, these are other domains.
        ("john@straße.de", "john@strasse.de"),
        ("john@STRASSE.de", "john@straße.de"),
        ("john@σίσυφος.gr", "john@ΣΊΣΥΦΟΣ.gr"),
        ("ı@gmail.com", "I@gmail.com"),  # Turkic dotless i is not folded to i
        ("ｊｏｈｎ@example.com", "john@example.com"),  # no NFKC in the local part
        ("john@example.com", "john1@example.com"),
    ],
)
def test_different_email_keys(a, b):
    assert email_key(a).key != email_key(b).key


def test_idn_domain_key_is_ascii():
    assert email_key("john@straße.de").key == "john@xn--strae-oqa.de"
    assert email_key("john@strasse.de").key == "john@strasse.de"
    assert email_key("JÖHN@BÜCHER.DE").key == "jöhn@xn--bcher-kva.de"


@pytest.mark.parametrize(
    "raw",
    [
        "jane.doe@",  # vector 26
        "no-at-sign",
        "a@b@c.com",
        "@example.com",
        "john@localhost",
        "john@example.com.",
        "john doe@example.com",
        "jo..hn@example.com",
        "john\u200b@example.com",  # zero-width space inside
        "john＠example.com",  # full-width at sign
        "\u200b \u200bjohn@example.com",
    ],
)
def test_invalid_emails_are_unusable(raw):
    error = unusable(email_key, raw)
    assert not error.empty
    assert error.reason


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", "\u200b", "\ufeff \u200b"])
def test_empty_email_is_unusable_and_marked_empty(raw):
    assert unusable(email_key, raw).empty


@pytest.mark.parametrize("raw", NON_STRINGS)
def test_non_string_email_is_unusable(raw):
    error = unusable(email_key, raw)
    assert not error.empty
    assert "JSON string" in error.reason


# -- text (reference 1.4, A7, A29, vectors 45, 46) -------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("CUST-04821", "cust-04821"),  # vector 45
        ("Straße", "STRASSE"),  # A29: casefold, not lower
        ("Straße", "strasse"),
        ("ẞ", "ss"),
        ("ΟΔΟΣ", "οδος"),
        ("οδος", "οδοσ"),  # final sigma
        ("µ", "μ"),  # micro sign and Greek mu
        ("ſ", "s"),  # long s
        ("ﬁle", "FILE"),  # ligature
        ("é", "e\u0301"),  # NFC == NFD
        ("É", "e\u0301"),
        ("\u212b", "å"),  # angstrom sign
        ("\u212a", "k"),  # kelvin sign
        ("ǅ", "ǆ"),
        ("ǰ", "J\u030c"),
        ("İ", "i\u0307"),  # İ folds to i + combining dot, consistently
        ("ﬀ", "FF"),  # full case folding expands ligatures (README)
        ("ﬃ", "ffi"),
        ("ﬆ", "ST"),
        ("ŉ", "ʼN"),
        ("ᾳ", "ΑΙ"),  # ypogegrammeni folds to iota
        ("ＪＯＨＮ", "ｊｏｈｎ"),  # full-width letters have case
        ("Ⓐ", "ⓐ"),  # so do circled letters
        ("Ꭰ", "ꭰ"),  # Cherokee folds to its upper case
    ],
)
def test_equal_text_keys(a, b):
    assert text_key(a) == text_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("CUST-04821 ", "CUST-04821"),  # vector 46 / A7: whitespace is kept
        (" CUST-04821", "CUST-04821"),
        ("CUST 04821", "CUST  04821"),
        ("KIRMIZI", "kırmızı"),  # no Turkic tailoring
        ("I", "ı"),
        ("İstanbul", "istanbul"),
        ("ｊｏｈｎ", "john"),  # no NFKC
        ("²", "2"),
        ("①", "1"),
        ("Ⓐ", "A"),
        ("㎏", "kg"),
        ("™", "TM"),
        ("Ⅻ", "XII"),
    ],
)
def test_different_text_keys(a, b):
    assert text_key(a) != text_key(b)


def test_text_key_keeps_whitespace():
    assert text_key("CUST-04821 ") == "cust-04821 "
    assert text_key("\tA B\n") == "\ta b\n"


@pytest.mark.parametrize("raw", ["", " ", "\t\n", "\xa0", "\u3000 "])
def test_empty_or_whitespace_text_is_unusable_and_marked_empty(raw):
    assert unusable(text_key, raw).empty


@pytest.mark.parametrize("raw", NON_STRINGS)
def test_non_string_text_is_unusable(raw):
    error = unusable(text_key, raw)
    assert not error.empty


# -- reference test vectors through the application (fixture W) --------------------


@dataclass
class FixtureW:
    app: Leadkey
    l1: UUID

    def ingest(self, fields: dict) -> Decision:
        return self.app.ingest("W", {"fields": fields})

    def l1_fields(self) -> dict:
        return dict(self.app.lead(self.l1).fields)


@pytest.fixture
def w() -> FixtureW:
    """Fixture W: default country IN, identifier phone, lead L1 (key 919999999999)."""
    app = Leadkey("memory:")
    app.create_workspace(
        "W",
        country="IN",
        fields={"rating": "rating", "interests": "tags", "deal_size": "number"},
    )
    created = app.ingest("W", {"fields": {"phone": "919999999999", "name": "Jane", "rating": 2}})
    assert created.outcome is Outcome.CREATED
    assert created.lead_id is not None
    return FixtureW(app, created.lead_id)


@pytest.mark.parametrize(
    ("number", "fields", "name"),
    [
        (1, {"phone": "919999999999", "name": "Jane D"}, "Jane D"),
        (2, {"phone": "+919999999999"}, "Jane"),
        (3, {"phone": "9999999999"}, "Jane"),
        (10, {"name": "J", "phone": "919999999999"}, "J"),
        (11, {"phone": "+91 99999-99999"}, "Jane"),
    ],
)
def test_vectors_that_update_l1(w, number, fields, name):
    decision = w.ingest(fields)
    assert decision.outcome is Outcome.UPDATED, number
    assert decision.lead_id == w.l1
    assert decision.key == L1_KEY
    after = w.l1_fields()
    assert after["name"] == name
    assert after["rating"] == 2  # fields not supplied stay as they were
    assert after["phone"] == L1_KEY  # the identifier value never changes


@pytest.mark.parametrize(
    ("number", "phone", "key"),
    [(4, "918888888888", "+918888888888"), (12, "9199999999", "+919199999999")],
)
def test_vectors_that_create_a_lead(w, number, phone, key):
    decision = w.ingest({"phone": phone, "name": "Raj"})
    assert decision.outcome is Outcome.CREATED, number
    assert decision.lead_id != w.l1
    assert decision.key == key
    assert dict(w.app.lead(decision.lead_id).fields) == {"phone": key, "name": "Raj"}


@pytest.mark.parametrize(
    ("number", "fields", "reason"),
    [
        (5, {"name": "Raj", "email": "raj@x.com"}, DropReason.IDENTIFIER_MISSING),
        (6, {"Phone": "919999999999"}, DropReason.IDENTIFIER_MISSING),
        (7, {"phone": "99999"}, DropReason.IDENTIFIER_UNUSABLE),
        (8, {"phone": ""}, DropReason.IDENTIFIER_EMPTY),
        (8, {"phone": None}, DropReason.IDENTIFIER_MISSING),
        (9, {"phone": 919999999999}, DropReason.IDENTIFIER_UNUSABLE),
        (13, {"phone": "+91999999999"}, DropReason.IDENTIFIER_UNUSABLE),
    ],
)
def test_vectors_that_drop(w, number, fields, reason):
    decision = w.ingest(fields)
    assert decision.outcome is Outcome.DROPPED, number
    assert decision.reason is reason
    assert decision.lead_id is None
    assert len(w.app.workspace("W").versions) == 1
    assert w.l1_fields() == {"phone": L1_KEY, "name": "Jane", "rating": 2}


def test_vector_25_email_is_stored_trimmed(w):
    decision = w.ingest({"phone": "919999999999", "email": " Jane.Doe@Example.com "})
    assert decision.outcome is Outcome.UPDATED
    assert w.l1_fields()["email"] == "Jane.Doe@Example.com"
    assert decision.keys["email"] == "jane.doe@example.com"


def test_vector_26_invalid_email_field_is_dropped_lead_still_updated(w):
    decision = w.ingest({"phone": "919999999999", "email": "jane.doe@"})
    assert decision.outcome is Outcome.UPDATED
    assert "email" in decision.rejected
    assert "email" not in w.l1_fields()


def test_vectors_43_44_email_identifier():
    app = Leadkey("memory:")
    app.create_workspace("E", identifier="email")
    first = app.ingest("E", {"fields": {"email": "jane.doe@example.com"}})
    assert first.outcome is Outcome.CREATED
    again = app.ingest("E", {"fields": {"email": " JANE.DOE@example.com "}})  # 43
    assert (again.outcome, again.lead_id) == (Outcome.UPDATED, first.lead_id)
    assert again.key == "jane.doe@example.com"
    dropped = app.ingest("E", {"fields": {"phone": "919999999999"}})  # 44
    assert dropped.reason is DropReason.IDENTIFIER_MISSING


def test_vectors_45_46_text_identifier():
    app = Leadkey("memory:")
    app.create_workspace("T", identifier="customer_id", fields={"customer_id": "text"})
    first = app.ingest("T", {"fields": {"customer_id": "CUST-04821"}})
    assert first.outcome is Outcome.CREATED
    matched = app.ingest("T", {"fields": {"customer_id": "cust-04821"}})  # 45
    assert (matched.outcome, matched.lead_id) == (Outcome.UPDATED, first.lead_id)
    spaced = app.ingest("T", {"fields": {"customer_id": "CUST-04821 "}})  # 46
    assert spaced.outcome is Outcome.CREATED
    assert spaced.key == "cust-04821 "
    assert spaced.lead_id != first.lead_id
    blank = app.ingest("T", {"fields": {"customer_id": "   "}})
    assert blank.reason is DropReason.IDENTIFIER_EMPTY


# -- properties -------------------------------------------------------------------

OTHER_REGIONS = st.sampled_from(["IN", "US", "GB", "DE", "BR", "FR", "CN", "AU", "JP", "NG"])
E164 = re.compile(r"^\+\d+$")


@st.composite
def numbers_in_workspaces(draw):
    """``(workspace region, e164)``: the number's own region or another one."""
    home, e164 = draw(valid_phone_numbers())
    region = draw(st.one_of(st.just(home), OTHER_REGIONS))
    return region, e164


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_all_spellings_of_a_number_give_its_e164_key(data):
    region, e164 = data.draw(numbers_in_workspaces())
    spellings = data.draw(st.lists(phone_spellings(region, e164), min_size=1, max_size=6))
    assert {phone_key(s, region) for s in spellings} == {e164}


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_indian_spellings_in_indian_and_us_workspaces(data):
    _, e164 = data.draw(valid_phone_numbers(["IN"]))
    region = data.draw(st.sampled_from(["IN", "US"]))
    spellings = data.draw(st.lists(phone_spellings(region, e164), min_size=1, max_size=6))
    assert {phone_key(s, region) for s in spellings} == {e164}


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_different_numbers_never_share_a_key(data):
    _, a = data.draw(valid_phone_numbers())
    _, b = data.draw(valid_phone_numbers())
    assume(a != b)
    region = data.draw(OTHER_REGIONS)
    spelled_a = data.draw(phone_spellings(region, a))
    spelled_b = data.draw(phone_spellings(region, b))
    assert phone_key(spelled_a, region) != phone_key(spelled_b, region)


@settings(max_examples=500, deadline=None)
@given(raw=st.text(max_size=40), region=st.sampled_from(PHONE_REGIONS))
def test_phone_key_on_arbitrary_text(raw, region):
    check_phone_key_total(raw, region)


@settings(max_examples=500, deadline=None)
@given(
    raw=st.text(alphabet="0123456789０９٩ +-().#x\xa0", max_size=20),
    region=st.sampled_from(["IN", "US", "GB", "DE", "IT", "BR", "CO"]),
)
def test_phone_key_on_digit_strings(raw, region):
    check_phone_key_total(raw, region)


def check_phone_key_total(raw: str, region: str) -> None:
    """Only UnusableValue is raised; keys are +digits and normalizing a key gives it back."""
    try:
        key = phone_key(raw, region)
    except UnusableValue:
        return
    assert E164.match(key), key
    assert phone_key(key, region) == key
    assert phone_key(key, "US" if region != "US" else "IN") == key


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_email_variants_share_one_key(data):
    address = data.draw(emails())
    variants = data.draw(st.lists(email_variants(address), min_size=1, max_size=4))
    assert {email_key(v).key for v in variants} == {email_key(address).key}


@settings(max_examples=200, deadline=None)
@given(a=emails(), b=emails())
def test_emails_differing_beyond_case_have_different_keys(a, b):
    assume(email_identity(a) != email_identity(b))
    assert email_key(a).key != email_key(b).key


def email_identity(address: str) -> tuple[str, str]:
    """Folded local part (NFC of the casefolded NFD) and the ASCII (IDNA) domain."""
    checked = validate_email(address, check_deliverability=False)
    local = unicodedata.normalize(
        "NFC", unicodedata.normalize("NFD", checked.local_part).casefold()
    )
    return local, checked.ascii_domain


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_email_key_only_raises_unusable(raw):
    try:
        value = email_key(raw)
    except UnusableValue:
        return
    assert "@" in value.key
    assert email_key(value.display).key == value.key
    assert value.display == value.display.strip(WHITESPACE + "\u200b\u200c\u200d\u2060\ufeff")
    assert not any(unicodedata.category(c) == "Cc" for c in value.display)


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_text_variants_share_one_key(data):
    text = data.draw(text_ids())
    variants = data.draw(st.lists(text_variants(text), min_size=1, max_size=4))
    assert {text_key(v) for v in variants} == {text_key(text)}


@settings(max_examples=300, deadline=None)
@given(text_ids())
def test_text_key_is_idempotent_and_form_independent(text):
    key = text_key(text)
    assert text_key(key) == key
    assert text_key(unicodedata.normalize("NFD", text)) == key
    assert text_key(unicodedata.normalize("NFC", text)) == key
    assert text_key(" " + text) != key  # whitespace is significant


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_text_key_on_arbitrary_text(raw):
    try:
        key = text_key(raw)
    except UnusableValue as error:
        assert error.empty
        assert not raw.strip(WHITESPACE)
        return
    assert raw.strip(WHITESPACE)
    assert text_key(key) == key
    assert len(key) >= 1


@given(st.one_of(st.text(), st.text(alphabet=st.characters(max_codepoint=127))))
def test_folding_is_nfc_of_the_casefolded_nfd_also_on_its_ascii_shortcut(text: str) -> None:
    normalize = unicodedata.normalize
    assert fold_text(text) == normalize("NFC", normalize("NFD", text).casefold())
