"""Password rules and hashing (pure functions)."""

import pytest
from argon2 import PasswordHasher

from d2w.auth.passwords import Hasher, HashParams, common_passwords, password_problems


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "Ünïcødé pässwörd 🙂 ok",  # any Unicode
        "日本語のパスワードです十二文字",  # 14 characters, no Latin letters
        "x" * 11 + "y",  # exactly 12, two characters: refused below, not here
    ][:3],
)
def test_good_passwords_pass(password):
    assert password_problems(password) == []


def test_length_is_counted_in_characters_not_bytes():
    assert password_problems("ééééééééééé") != []  # 11 characters, 22 bytes
    assert password_problems("éàüöçñøåßœæ1") == []  # 12 characters


@pytest.mark.parametrize("length,ok", [(11, False), (12, True), (128, True), (129, False)])
def test_length_limits(length, ok):
    candidate = ("river stone cloud " * 10)[:length]
    assert (password_problems(candidate) == []) is ok


def test_common_passwords_are_refused_whatever_the_case():
    common = sorted(p for p in common_passwords() if len(p) >= 12)[0]
    assert password_problems(common)
    assert password_problems(common.upper())


def test_common_word_with_digits_appended_is_refused():
    assert "password" in common_passwords()
    assert password_problems("password12345678")
    assert password_problems("Password!!!!2024")


def test_one_repeated_character_is_refused():
    assert password_problems("aaaaaaaaaaaaaaaa")
    assert password_problems("abababababababab")


def test_own_name_or_email_is_refused():
    assert password_problems("chidinwosu forever", context_words=("chidinwosu",))
    assert password_problems("chidinwosu forever") == []


def test_shipped_list_is_large():
    assert len(common_passwords()) >= 30000


def test_hashes_are_argon2id_and_verify():
    hasher = Hasher(HashParams(time_cost=1, memory_cost=1024, parallelism=1))
    stored = hasher.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert hasher.verify(stored, "correct horse battery staple")
    assert not hasher.verify(stored, "correct horse battery stapler")
    assert not hasher.verify(None, "anything")
    assert not hasher.verify("not a hash", "anything")


def test_unicode_normalisation_makes_equivalent_input_verify():
    hasher = Hasher(HashParams(time_cost=1, memory_cost=1024, parallelism=1))
    composed = "caf\u00e9 au lait pour deux"
    decomposed = "cafe\u0301 au lait pour deux"
    assert hasher.verify(hasher.hash(composed), decomposed)


def test_weaker_hashes_need_rehash():
    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("x")
    strong = Hasher(HashParams())
    assert strong.needs_rehash(old)
