"""Measure how phone values are read, per default country: the current rules against the
rules before "an invalid home number must not become a foreign number", and both against
``phonenumbers.parse(value, region)`` (+ valid + E.164).

Run:  python bench/phone_readings.py [--faker 2000] [--numbers 300] [--seed 1]

Data, per region (fixed seeds, so every run prints the same numbers):
- Faker ``phone_number()`` values of the region's locale (country = the default country);
- spellings of valid numbers of the region (drawn at random over its fixed-line and
  mobile lengths, kept when phonenumbers calls them valid): E.164, international and
  national formats, the bare national number, trunk prefix, calling code without ``+``
  (with and without the trunk ``(0)``), ``00`` / ``011`` / the region's own international
  prefix, ``tel:``, separators and full-width digits; and valid numbers of other regions
  spelled with ``+``, ``00``, the region's own prefix and their calling code without
  ``+``.  A generated spelling has a meant number, so its key is right, wrong or none.

Tables:
1. Faker values: keyed, unusable, foreign keys (calling code other than the default
   country's) and disagreements with phonenumbers, old rule -> new rule.
2. Generated spellings: the same, plus keys that are wrong (not the meant number).
3. The calling code without ``+`` (``49`` + a German number in DE): among generated
   spellings that both readings, national and calling code + national, make valid (and
   different), how many were generated as which.
4. Why the new rule differs from phonenumbers, per README rule.
"""

from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from collections.abc import Iterator

import phonenumbers
from faker import Faker
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat

from leadkey.domain.normalization import UnusableValue, phone_key

#: Default country -> Faker locale.
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
    "ES": "es_ES",
    "NL": "nl_NL",
    "AT": "de_AT",
    "ID": "id_ID",
    "PL": "pl_PL",
}
#: Regions whose numbers are also spelled in the other workspaces.
FOREIGN = ("IN", "US", "GB", "DE", "BR", "FR", "NG", "CN", "SE", "FI", "CU")
_SEPARATORS = ("", " ", "-", ".", " ")

Result = tuple[str | None, str | None]  # (key, reason)


# -- the rules ---------------------------------------------------------------------

_SEPARATOR_CHARS = str.maketrans("", "", " \t\u00a0-.()")
_TEL_PREFIX = re.compile(r"^tel:", re.IGNORECASE)
_EXTENSION = re.compile(
    r"(?:\s*;\s*ext=|\s*(?:ext\.?|extension|x|#|,)\s*)\d{1,20}#?$", re.IGNORECASE
)
_LETTER = re.compile(r"[^\W\d_]")


def old_rule(raw: str, region: str) -> Result:
    """The phone rule BEFORE this change (rule version 1), copied here for comparison:
    national reading if valid, else ``+digits`` (after ``00`` / ``011``) if valid."""
    value = raw.strip().strip("\u200b\u200c\u200d\u2060\ufeff").strip()
    value = value.translate(_SEPARATOR_CHARS)
    if not value or len(value) > 64:
        return None, "empty or too long"
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
    for idd in ("00", "011"):
        if digits.startswith(idd):
            digits = digits[len(idd) :]
            break
    if digits and digits[0] != "0":
        number = _parse("+" + digits, None)
        if number is not None and phonenumbers.is_valid_number(number):
            return _e164(number), None
    return None, f"not a valid phone number for default country {region}"


def new_rule(raw: str, region: str) -> Result:
    try:
        return phone_key(raw, region), None
    except UnusableValue as error:
        return None, error.reason


def oracle(raw: str, region: str) -> str | None:
    """phonenumbers alone: ``parse(value, region)``, kept only if valid, as E.164."""
    number = _parse(raw, region)
    if number is None or not phonenumbers.is_valid_number(number):
        return None
    return _e164(number)


def _parse(value: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(value, region)
    except NumberParseException:
        return None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def calling_code(key: str) -> int:
    return phonenumbers.parse(key, None).country_code


# -- generated data ----------------------------------------------------------------


def faker_values(region: str, count: int, seed: int) -> list[str]:
    fake = Faker(LOCALES[region])
    fake.seed_instance(seed)
    return [fake.phone_number() for _ in range(count)]


def _lengths(region: str) -> list[int]:
    metadata = PhoneMetadata.metadata_for_region(region)
    found = {
        n for desc in (metadata.fixed_line, metadata.mobile) if desc for n in desc.possible_length
    }
    return sorted(n for n in found if n > 0) or list(metadata.general_desc.possible_length)


def valid_numbers(region: str, count: int, rng: random.Random) -> list[str]:
    """``count`` distinct valid E.164 numbers of ``region`` (random digits, kept if valid)."""
    cc = phonenumbers.country_code_for_region(region)
    lengths = _lengths(region)
    found: dict[str, None] = {}
    for _ in range(count * 2000):
        nsn = "".join(rng.choice("0123456789") for _ in range(rng.choice(lengths)))
        number = _parse(f"+{cc}{nsn}", None)
        if (
            number is not None
            and phonenumbers.is_valid_number(number)
            and phonenumbers.region_code_for_number(number) == region
        ):
            found[_e164(number)] = None
            if len(found) == count:
                break
    return list(found)


def _group(digits: str, rng: random.Random) -> str:
    out, rest = [], digits
    while rest:
        size = rng.randint(2, 4)
        out.append(rest[:size])
        rest = rest[size:]
    sep = rng.choice(_SEPARATORS)
    return sep.join(out)


def _fullwidth(text: str) -> str:
    return "".join(chr(0xFF10 + int(c)) if "0" <= c <= "9" else c for c in text).replace(
        "+", "\uff0b"
    )


def _own_prefix(region: str) -> str | None:
    """The region's international prefix as dialled (when it is one fixed string)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    prefix = metadata.preferred_international_prefix or metadata.international_prefix
    if prefix and re.fullmatch(r"\d+", prefix):
        return prefix
    return None


def spellings(e164: str, region: str, rng: random.Random) -> Iterator[tuple[str, str]]:
    """``(form, spelling)`` of ``e164`` as a user of a workspace in ``region`` may write it."""
    number = phonenumbers.parse(e164, None)
    cc = str(number.country_code)
    nsn = phonenumbers.national_significant_number(number)
    yield "e164", e164
    yield "international", phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    yield "tel", phonenumbers.format_number(number, PhoneNumberFormat.RFC3966)
    yield "00", "00 " + _group(cc + nsn, rng)
    yield "011", "011 " + _group(cc + nsn, rng)
    own = _own_prefix(region)
    if own and own not in ("00", "011"):
        yield "own idd", own + " " + _group(cc + nsn, rng)
    yield "cc no +", _group(cc + nsn, rng)
    home = phonenumbers.region_code_for_number(number)
    if home == region or number.country_code == phonenumbers.country_code_for_region(region):
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        yield "national", national
        yield "nsn", _group(nsn, rng)
        yield "fullwidth", _fullwidth(national)
        trunk = PhoneMetadata.metadata_for_region(region).national_prefix
        if trunk and phonenumbers.normalize_digits_only(national).startswith(trunk):
            yield "trunk", trunk + _group(nsn, rng)
            yield "cc (0)", f"{cc} ({trunk}) " + _group(nsn, rng)


def generated(region: str, count: int, seed: int) -> list[tuple[str, str, str]]:
    """``(form, spelling, meant e164)`` for numbers of ``region`` and of other regions."""
    rng = random.Random(f"{seed}-{region}")
    out = []
    for e164 in valid_numbers(region, count, rng):
        out += [(form, s, e164) for form, s in spellings(e164, region, rng)]
    for other in FOREIGN:
        if other == region:
            continue
        for e164 in valid_numbers(other, max(1, count // 10), rng):
            out += [
                (f"foreign {form}", s, e164)
                for form, s in spellings(e164, region, rng)
                if form in ("e164", "00", "011", "own idd", "cc no +")
            ]
    return out


# -- measures ----------------------------------------------------------------------


def difference(raw: str, region: str) -> str:
    """Which README rule makes the new key differ from phonenumbers' parse (or '')."""
    key, reason = new_rule(raw, region)
    expected = oracle(raw, region)
    if key == expected:
        return ""
    if reason == "contains letters":
        return "letters are not keypad digits"
    if reason == "two phone numbers in one field":
        return "two numbers in one field"
    if key is None:
        return f"unusable, phonenumbers gives {expected}"
    digits = phonenumbers.normalize_digits_only(raw)
    home = phonenumbers.country_code_for_region(region)
    if key == oracle("+" + digits, None) and calling_code(key) == home:
        if expected is None:
            return "calling code without + (national reading invalid)"
        return "calling code without + wins over a valid national reading"
    return "international reading"


def row(values: list[str], region: str, meant: list[str] | None = None) -> Counter[str]:
    """Counts over ``values`` for the old and the new rule (and phonenumbers' ``pn``)."""
    home = phonenumbers.country_code_for_region(region)
    counts: Counter[str] = Counter()
    for i, raw in enumerate(values):
        truth = oracle(raw, region)
        for name, rule in (("old", old_rule), ("new", new_rule)):
            key, _ = rule(raw, region)
            counts[f"{name} keyed"] += key is not None
            counts[f"{name} unusable"] += key is None
            counts[f"{name} foreign"] += key is not None and calling_code(key) != home
            counts[f"{name} differ"] += key != truth
            if meant is not None:
                counts[f"{name} wrong"] += key is not None and key != meant[i]
        if meant is not None:
            counts["pn wrong"] += truth is not None and truth != meant[i]
    return counts


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths, strict=True)))


def both_readings(region: str, count: int, seed: int) -> Counter[str]:
    """Spell valid numbers of ``region`` as the bare national number and as calling code +
    national number (with and without the trunk prefix), and count, per generated form,
    the spellings for which both readings (national, and calling code + national) are
    valid and different; and how many of those the new rule reads as generated."""
    rng = random.Random(f"both-{seed}-{region}")
    cc = str(phonenumbers.country_code_for_region(region))
    trunk = PhoneMetadata.metadata_for_region(region).national_prefix or ""
    tally: Counter[str] = Counter()
    for e164 in valid_numbers(region, count, rng):
        nsn = phonenumbers.national_significant_number(phonenumbers.parse(e164, None))
        forms = {"nsn": nsn, "cc+nsn": cc + nsn}
        if trunk:
            forms["cc+trunk+nsn"] = cc + trunk + nsn
        for form, digits in forms.items():
            if both_valid(digits, region):
                tally[form] += 1
                tally["read as generated"] += new_rule(digits, region)[0] == e164
    return tally


def both_valid(raw: str, region: str) -> bool:
    """Whether ``raw`` reads validly, and differently, as a national number and as the
    default country's calling code + a national number."""
    digits = phonenumbers.normalize_digits_only(raw)
    if raw.lstrip()[:1] in ("+", "\uff0b") or not digits:
        return False
    cc = str(phonenumbers.country_code_for_region(region))
    national = oracle(raw, region)
    own = oracle("+" + digits, None) if digits.startswith(cc) else None
    if own is not None and calling_code(own) != int(cc):
        own = None
    return national is not None and own is not None and national != own


def written_bare(raw: str, region: str) -> bool:
    """Whether ``raw`` is written as bare digits: no ``+``, no ``00``, no trunk prefix."""
    digits = phonenumbers.normalize_digits_only(raw)
    trunk = PhoneMetadata.metadata_for_region(region).national_prefix
    return (
        "+" not in raw and not digits.startswith("00") and not (trunk and digits.startswith(trunk))
    )


def arrow(counts: Counter[str], column: str) -> str:
    return f"{counts['old ' + column]}->{counts['new ' + column]}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faker", type=int, default=2000, help="Faker values per region")
    parser.add_argument("--numbers", type=int, default=300, help="valid numbers per region")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    faker_rows, gen_rows, both_rows = [], [], []
    totals: Counter[str] = Counter()
    examples: dict[str, tuple[str, str]] = {}
    columns = ("keyed", "unusable", "foreign", "differ")
    for region in LOCALES:
        values = faker_values(region, args.faker, args.seed)
        counts = row(values, region)
        faker_rows.append([region, str(len(values)), *(arrow(counts, c) for c in columns)])
        triples = generated(region, args.numbers, args.seed)
        home = [(s, m) for form, s, m in triples if not form.startswith("foreign")]
        away = [(s, m) for form, s, m in triples if form.startswith("foreign")]
        counts = row([s for s, _ in home], region, [m for _, m in home])
        away_counts = row([s for s, _ in away], region, [m for _, m in away])
        gen_rows.append(
            [region, f"{len(home)}+{len(away)}"]
            + [arrow(counts + away_counts, c) for c in columns]
            + [arrow(counts, "wrong"), arrow(away_counts, "wrong"), str(away_counts["pn wrong"])]
        )
        for raw in values + [s for _, s, _ in triples]:
            why = difference(raw, region)
            if why:
                totals[why] += 1
                examples.setdefault(why, (raw, region))
        tally = both_readings(region, args.numbers, args.seed)
        ambiguous = tally["nsn"] + tally["cc+nsn"] + tally["cc+trunk+nsn"]
        trunk = PhoneMetadata.metadata_for_region(region).national_prefix or "-"
        both_rows.append(
            [
                region,
                trunk,
                str(tally["nsn"]),
                str(tally["cc+nsn"]),
                str(tally["cc+trunk+nsn"]),
                f"{tally['read as generated']}/{ambiguous}",
                str(sum(both_valid(v, region) for v in values)),
                f"{100 * sum(written_bare(v, region) for v in values) // len(values)} %",
            ]
        )

    print_table(
        f"1. Faker phone_number(), {args.faker} per region (seed {args.seed}),"
        " old rule -> new rule",
        ["region", "values", "keyed", "unusable", "foreign", "differ from pn"],
        faker_rows,
    )
    print_table(
        "2. Generated spellings of valid numbers, home + foreign, old rule -> new rule;"
        " wrong: keyed, but not as the number spelled (pn: phonenumbers' parse)",
        [
            "region",
            "values",
            "keyed",
            "unusable",
            "foreign",
            "differ from pn",
            "wrong home",
            "wrong foreign",
            "pn wrong foreign",
        ],
        gen_rows,
    )
    print_table(
        f"3. Calling code without +: spellings of {args.numbers} valid numbers per region that"
        " are valid both as a national number and as calling code + national number, by the"
        " form generated; Faker values valid both ways, and Faker values written as bare"
        " digits (no +, no 00, no trunk prefix)",
        [
            "region",
            "trunk",
            "bare nsn",
            "cc+nsn",
            "cc+trunk+nsn",
            "new rule right",
            "Faker both",
            "Faker bare",
        ],
        both_rows,
    )
    print_table(
        "4. New rule vs phonenumbers' parse: why they differ (all regions, Faker + generated)",
        ["rule", "values", "example"],
        [[w, str(n), f"{examples[w][0]!r} in {examples[w][1]}"] for w, n in totals.most_common()],
    )


if __name__ == "__main__":
    main()
