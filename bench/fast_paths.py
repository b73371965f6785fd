"""The fast paths against the full ones, over generated values: how many take the fast
path, how many answers differ (must be 0), and the cost of a key on each path, side by
side in one run.

    .venv/bin/python bench/fast_paths.py                      # 1,000,000 values of each
    .venv/bin/python bench/fast_paths.py --values 100000 --seed 2 --only phone

Email addresses are drawn (seeded) from a mix of plain ones (names, digits and
separators at many domains), near misses at every edge the fast path checks
(special-use domains, a top-level domain ending with a digit, ``--`` in a label,
63/64-character labels, 254/255 characters in all, dots at the ends or doubled) and
non-ASCII or quoted ones.  Phone numbers: a default country among every supported
region, and phonenumbers' example numbers of it or of any region, a digit replaced,
dropped or added, after a prefix (the calling code with or without ``+`` or after
``00`` or ``011``, a trunk or international prefix, ``0``), or random digits.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import time
from collections.abc import Callable

import email_validator
import phonenumbers

from leadkey.domain.normalization import (
    SUPPORTED_REGIONS,
    _email_result,
    _phone_result,
    _plain_email_key,
    _plain_phone_key,
)

NAMES = ["jane", "Ravi", "o'brien", "MÜLLER", "li.wei", "a_b", "x-y", "first+tag", "Z"]
DOMAINS = ["gmail.com", "Example.CO.IN", "mail.yahoo.co.jp", "web.de", "b.c", "x-y.org"]
NEAR_DOMAINS = [
    *email_validator.SPECIAL_USE_DOMAIN_NAMES,
    "mail.local",
    "a.test",
    "b.c1",
    "ab--c.com",
    "xn--bcher-kva.de",
    "-a.com",
    "a-.com",
    "a..com",
    ".a.com",
    "a.com.",
    "[127.0.0.1]",
    "a" * 63 + ".com",
    "a" * 64 + ".com",
    "exämple.com",
    "ｅxample.com",
    "localhost",
]
NEAR_LOCALS = ['"quoted"', "a..b", ".a", "a.", "a b", "é", "ß", "a@b", "x\u0301", "(c)a", ""]
ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~."


def address(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.6:  # plain
        local = rng.choice(NAMES) + rng.choice(["", ".", "_", "-", "+"]) + str(rng.randrange(999))
        return f"{local}@{rng.choice(DOMAINS)}"
    if kind < 0.75:  # a near-miss domain
        return f"{rng.choice(NAMES)}@{rng.choice(NEAR_DOMAINS)}"
    if kind < 0.85:  # a near-miss local part
        return f"{rng.choice(NEAR_LOCALS)}@{rng.choice(DOMAINS)}"
    if kind < 0.95:  # random atext, random labels
        local = "".join(rng.choices(ATEXT, k=rng.randint(1, 20)))
        labels = [
            "".join(rng.choices(string.ascii_letters + string.digits + "-_", k=rng.randint(0, 8)))
            for _ in range(rng.randint(1, 4))
        ]
        return f"{local}@{'.'.join(labels)}"
    total = rng.choice([253, 254, 255])  # around the whole address's limit
    domain = ("a" * 62 + ".") * 3 + "com"
    return "b" * (total - len(domain) - 1) + "@" + domain


REGIONS = sorted(SUPPORTED_REGIONS)
EXAMPLES = {
    region: [
        phonenumbers.national_significant_number(number)
        for kind in vars(phonenumbers.PhoneNumberType).values()
        if isinstance(kind, int)
        and (number := phonenumbers.example_number_for_type(region, kind)) is not None
    ]
    for region in REGIONS
}


def phone(rng: random.Random) -> tuple[str, str]:
    region = rng.choice(REGIONS)
    of = region if rng.random() < 0.7 else rng.choice(REGIONS)
    if EXAMPLES[of] and rng.random() < 0.8:
        digits = rng.choice(EXAMPLES[of])
        at, digit = rng.randrange(len(digits)), rng.choice(string.digits)
        digits = rng.choice(
            [
                digits,
                digits,
                digits[:at] + digit + digits[at + 1 :],
                digits[:at] + digits[at + 1 :],
                digits[:at] + digit + digits[at:],
            ]
        )
        code = str(phonenumbers.country_code_for_region(of))
        if rng.random() < 0.1:  # (a national number that starts as the calling code)
            digits = code + "".join(rng.choices(string.digits, k=max(0, len(digits) - len(code))))
        prefix = rng.choice(
            ["", "", "", "+" + code, "+" + code, code, "0", "00", "011", "00" + code, "011" + code]
        )
        return prefix + digits, region
    digits = "".join(rng.choices(string.digits, k=rng.randint(1, 18)))
    return rng.choice(["", "+"]) + digits, region


def compare(
    name: str,
    values: list[tuple[str, ...]],
    fast_path: Callable[..., str | None],
    full_path: Callable[..., tuple[str | None, str | None]],
) -> None:
    taken = differences = 0
    fast_times: list[float] = []
    full_times: list[float] = []
    clock = time.perf_counter
    for value in values:
        started = clock()
        fast = fast_path(*value)
        middle = clock()
        full = full_path(*value)
        ended = clock()
        if fast is not None:
            taken += 1
            fast_times.append(middle - started)
            full_times.append(ended - middle)
            if full != (fast, None):
                differences += 1
                print(f"DIFFERENT: {value!r}: fast {fast!r}, full path {full!r}")
    print(f"{name}: {len(values):,} values, {len(set(values)):,} distinct")
    print(f"  fast path taken: {taken:,} ({taken / len(values):.0%}); differences: {differences}")
    fast_p50 = statistics.median(fast_times) * 1e6
    full_p50 = statistics.median(full_times) * 1e6
    print(
        f"  key of a value the fast path takes, p50: fast path {fast_p50:.2f} µs, "
        f"full path {full_p50:.2f} µs ({full_p50 / fast_p50:.1f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=["email", "phone"])
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"seed {args.seed}")
    if args.only != "phone":
        emails = [(address(rng),) for _ in range(args.values)]
        compare("email addresses", emails, _plain_email_key, _email_result)
    if args.only != "email":
        phones = [phone(rng) for _ in range(args.values)]
        compare("phone numbers", phones, _plain_phone_key, _phone_result)


if __name__ == "__main__":
    main()
