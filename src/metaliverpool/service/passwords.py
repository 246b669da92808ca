"""Passwords: the policy a new password must meet, and argon2id hashing with a bound on how many hashes
run at once (each takes ``memory_kib`` KiB: 64 MiB with the deployed profile).

The policy: at least :data:`MIN_PASSWORD_CHARS` characters, not only whitespace, not containing the
account name (ignoring case), and not one of the common passwords shipped in
``metaliverpool/service/data/common_passwords.txt`` (ignoring case; its header names its source and licence).
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from metaliverpool.errors import InputError, MetaLiverpoolError

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 200
HASHING_SLOTS = 2
"""Password hashes computed at once by one server process (the rest wait)."""
HASHING_WAIT_S = 10.0
"""How long a request waits for a hashing slot before it is refused (HTTP 503 with Retry-After)."""


class HashingBusy(MetaLiverpoolError):
    """Every hashing slot stayed taken for the whole wait (HTTP 503 with Retry-After)."""

    retry_after_s = 2


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case)."""
    text = resources.files("metaliverpool.service").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def check_password(name: str, password: str) -> str:
    """``password`` if it meets the policy for account ``name``; else :class:`InputError` saying why."""

    def refuse(problem: str) -> InputError:
        return InputError("sign-up", problem, where="field 'password'")

    if len(password) < MIN_PASSWORD_CHARS or len(password) > MAX_PASSWORD_CHARS:
        raise refuse(f"expected {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters")
    if not password.strip():
        raise refuse("expected more than whitespace")
    if name.lower() in password.lower():
        raise refuse("must not contain the name")
    if password.lower() in common_passwords() or password.strip().lower() in common_passwords():
        raise refuse("too common (it is on a list of the most used passwords); choose another")
    return password


def make_hasher(memory_kib: int = 65536, time_cost: int = 3) -> PasswordHasher:
    """The argon2id hasher; the defaults are argon2-cffi's (RFC 9106 low-memory profile: 64 MiB, 3 passes)."""
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost)


class Passwords:
    """argon2id hashing and verification, at most ``slots`` at once (a thread waits up to ``wait_s`` for a
    slot, then :class:`HashingBusy`), so a burst of sign-ins cannot take ``memory_kib`` each at once."""

    def __init__(
        self,
        hasher: PasswordHasher | None = None,
        slots: int = HASHING_SLOTS,
        wait_s: float = HASHING_WAIT_S,
    ) -> None:
        self.hasher = hasher or make_hasher()
        self.wait_s = wait_s
        self._slots = threading.BoundedSemaphore(slots)

    def _slot(self) -> None:
        if not self._slots.acquire(timeout=self.wait_s):
            raise HashingBusy("the server is busy checking passwords; try again in a few seconds")

    def hash(self, password: str) -> str:
        """The argon2id hash of ``password``."""
        self._slot()
        try:
            return self.hasher.hash(password)
        finally:
            self._slots.release()

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``."""
        self._slot()
        try:
            return bool(self.hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False
        finally:
            self._slots.release()
