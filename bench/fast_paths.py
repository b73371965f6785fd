"""The fast path for plain ASCII email addresses against email-validator, over generated
addresses: how many take it, how many answers differ (must be 0), and the cost of a key
on each path, side by side in one run.

    .venv/bin/python bench/fast_paths.py                      # 1,000,000 addresses
    .venv/bin/python bench/fast_paths.py --values 100000 --seed 2

Addresses are drawn (seeded) from a mix of plain ones (names, digits and separators at
many domains), near misses at every edge the fast path checks (special-use domains, a
top-level domain ending with a digit, ``--`` in a label, 63/64-character labels, 254/255
characters in all, dots at the ends or doubled) and non-ASCII or quoted ones.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import time

import email_validator

from leadkey.domain.normalization import _email_result, _plain_email_key

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    values = [address(rng) for _ in range(args.values)]
    fast_taken = differences = 0
    fast_times: list[float] = []
    full_times: list[float] = []
    clock = time.perf_counter
    for value in values:
        started = clock()
        fast = _plain_email_key(value)
        middle = clock()
        full = _email_result(value)
        ended = clock()
        if fast is not None:
            fast_taken += 1
            fast_times.append(middle - started)
            full_times.append(ended - middle)
            if full != (fast, None):
                differences += 1
                print(f"DIFFERENT: {value!r}: fast {fast!r}, email-validator {full!r}")
    print(f"{len(values):,} addresses (seed {args.seed}), {len(set(values)):,} distinct")
    share = fast_taken / len(values)
    print(f"fast path taken: {fast_taken:,} ({share:.0%}); differences: {differences}")
    fast_p50 = statistics.median(fast_times) * 1e6
    full_p50 = statistics.median(full_times) * 1e6
    print(
        f"key of an address the fast path takes, p50: fast path {fast_p50:.2f} µs, "
        f"email-validator {full_p50:.2f} µs ({full_p50 / fast_p50:.1f}x)"
    )


if __name__ == "__main__":
    main()
