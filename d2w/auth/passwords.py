"""Password rules and argon2id hashing. Plain functions: no Flask import."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as fh:
        return frozenset(line.strip().casefold() for line in fh if line.strip())


def normalise(password: str) -> str:
    """NFKC, so the same password typed on different keyboards or systems hashes the same."""
    return unicodedata.normalize("NFKC", password)


_TRAILING_FILLER = re.compile(r"[\W\d_]+$")


def password_problems(
    password: str, *, min_length: int = 12, max_length: int = 128, context_words: tuple[str, ...] = ()
) -> list[str]:
    """Return what is wrong with a new password (empty if it is acceptable).

    Length is counted in characters after NFKC normalisation, so any Unicode is allowed.
    """
    pw = normalise(password)
    length = len(pw)
    if length < min_length:
        return [f"Use at least {min_length} characters (this has {length})."]
    if length > max_length:
        return [f"Use at most {max_length} characters (this has {length})."]
    folded = pw.casefold()
    problems = []
    base = _TRAILING_FILLER.sub("", folded)
    common = common_passwords()
    if folded in common or (len(base) >= 4 and base in common) or folded.strip() in common:
        problems.append("This is a commonly used password. Choose something less predictable.")
    elif len(set(folded)) <= 2:
        problems.append("Use more than one or two different characters.")
    for word in context_words:
        word = (word or "").casefold().strip()
        if len(word) >= 4 and word in folded:
            problems.append("Do not use your name or e-mail address in your password.")
            break
    return problems


@dataclass(frozen=True)
class HashParams:
    time_cost: int = 3
    memory_cost: int = 65536
    parallelism: int = 4


class Hasher:
    """argon2id hashing with a dummy verify for unknown accounts (equal timing)."""

    def __init__(self, params: HashParams):
        self._ph = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_cost,
            parallelism=params.parallelism,
            type=Type.ID,
        )
        self._dummy = self._ph.hash("dummy password for timing equality")

    def hash(self, password: str) -> str:
        return self._ph.hash(normalise(password))

    def verify(self, stored_hash: str | None, password: str) -> bool:
        if stored_hash is None:
            self._verify_dummy(password)
            return False
        try:
            return self._ph.verify(stored_hash, normalise(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _verify_dummy(self, password: str) -> None:
        with contextlib.suppress(VerificationError):
            self._ph.verify(self._dummy, normalise(password))

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._ph.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
