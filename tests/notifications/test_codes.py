"""Verification codes: what a borrower reads off a phone screen and /verify/ checks. Drawn in
bulk for a batch of reminders, they must be as unguessable as codes drawn one by one."""

from collections import Counter

from notifications.services import (
    CODE_ALPHABET,
    CODE_LENGTH,
    verification_code,
    verification_codes,
)


def test_codes_use_only_the_readable_alphabet_at_full_length():
    codes = verification_codes(2000) + [verification_code() for _ in range(50)]
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01OIL") & set("".join(codes))
    assert len(set(codes)) > 2000  # 31**5 codes: repeats in 2,050 are rare


def test_every_character_is_equally_likely():
    """310,000 characters: each of the 31 is expected 10,000 times (standard deviation ~98);
    a plain `byte % 31` would give the first eight letters ~10,900 each."""
    counts = Counter("".join(verification_codes(62_000)))
    assert set(counts) == set(CODE_ALPHABET)
    assert all(9_550 < n < 10_450 for n in counts.values()), counts


def test_no_codes_asked_none_given():
    assert verification_codes(0) == []
