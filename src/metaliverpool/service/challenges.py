"""Proof-of-work challenges for public writes (self-hosted; no external service).

The server hands out a random challenge; the client finds a ``solution`` (text of at most 32 characters)
such that ``SHA-256("<challenge>:<solution>")`` starts with ``bits`` zero bits, about 2^bits hashes of
work, and sends both with its write. A challenge is stored until it is redeemed or expires, and is
redeemed once: a wrong solution uses it up too, so guessing costs a new challenge each time (and each
challenge counts against the address's limit).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from metaliverpool.errors import InputError
from metaliverpool.service.public_limits import Action, PublicLimits, count_attempt
from metaliverpool.store.db import Database, PublicChallenge, now_s

MAX_SOLUTION_CHARS = 32


def issue_challenge(session: Session, limits: PublicLimits) -> dict[str, Any]:
    """A new challenge: ``{challenge, bits, expires_in_s}`` (expired ones are dropped)."""
    now = now_s()
    session.execute(delete(PublicChallenge).where(PublicChallenge.expires_at_s < now))
    challenge = secrets.token_hex(16)
    session.add(
        PublicChallenge(
            challenge=challenge, bits=limits.challenge_bits, expires_at_s=now + limits.challenge_lifetime_s
        )
    )
    return {
        "challenge": challenge,
        "bits": limits.challenge_bits,
        "expires_in_s": limits.challenge_lifetime_s,
    }


def leading_zero_bits(data: bytes) -> int:
    """How many bits of ``data`` are zero before the first one."""
    value = int.from_bytes(data, "big")
    return len(data) * 8 - value.bit_length()


def solves(challenge: str, solution: str, bits: int) -> bool:
    """Whether ``solution`` solves ``challenge`` at ``bits`` leading zero bits."""
    digest = hashlib.sha256(f"{challenge}:{solution}".encode()).digest()
    return leading_zero_bits(digest) >= bits


def redeem_challenge(session: Session, challenge: str, solution: str) -> InputError | None:
    """Use up ``challenge`` (one request wins it, even among concurrent ones); the refusal (422) if it is
    unknown, used, expired or not solved, else None. Returned, not raised, so the caller can commit the
    use before refusing."""
    bits = session.execute(
        delete(PublicChallenge)
        .where(PublicChallenge.challenge == challenge, PublicChallenge.expires_at_s >= now_s())
        .returning(PublicChallenge.bits)
    ).scalar_one_or_none()
    if bits is None:
        return InputError("challenge", "unknown, used or expired; fetch a new one", where="field 'challenge'")
    if not solves(challenge, solution, bits):
        return InputError(
            "challenge", f"the solution does not give {bits} leading zero bits", where="field 'solution'"
        )
    return None


def admit_write(
    db: Database,
    limits: PublicLimits,
    action: Action,
    address: str,
    visitor: str,
    challenge: str,
    solution: str,
) -> None:
    """The gate of every public write, in its own committed transaction: count the attempt against the
    visitor and the address (429 when over a limit), then use up the challenge (422 when it fails). The
    count and the used challenge stay even when the write is then refused."""

    def gate(session: Session) -> InputError | None:
        count_attempt(session, limits, action, address, visitor)
        return redeem_challenge(session, challenge, solution)

    refusal = db.run(gate)
    if refusal is not None:
        raise refusal
