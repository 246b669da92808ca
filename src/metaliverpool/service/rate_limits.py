"""Token buckets: the live socket's receive budget (:class:`~metaliverpool.service.live_limits.ReceiveBudget`)
and the public endpoints' requests per client address (:class:`AddressLimiter`).

A bucket holds up to ``burst`` tokens and refills at ``rate_per_s`` tokens a second. The limits of the
public map are per server process (a deployment with ``--workers N`` allows N times as much per address).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from metaliverpool.errors import MetaLiverpoolError


class TokenBucket:
    """``burst`` tokens refilled at ``rate_per_s`` tokens a second; times are monotonic seconds."""

    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.tokens = burst
        self.at_s: float | None = None

    def refill(self, now_s: float) -> None:
        """Add the tokens earned since the last call (at most ``burst`` in all)."""
        if self.at_s is not None:
            self.tokens = min(self.burst, self.tokens + max(0.0, now_s - self.at_s) * self.rate_per_s)
        self.at_s = now_s

    def spend(self, cost: float, now_s: float) -> float:
        """Take ``cost`` tokens even when there are not enough (the balance may go below zero); returns the
        wait in seconds until the balance is back to zero."""
        self.refill(now_s)
        self.tokens -= cost
        return max(0.0, -self.tokens / self.rate_per_s)

    def take(self, cost: float, now_s: float) -> float:
        """Take ``cost`` tokens if there are enough and return 0; else take nothing and return the wait in
        seconds until there will be."""
        self.refill(now_s)
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate_per_s


class TooManyRequests(MetaLiverpoolError):
    """A client address over its request limit (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class PublicReadLimits:
    """Requests to ``/api/public/*`` allowed per client address: ``requests_per_s`` sustained after a
    burst of ``burst`` requests (a first visit to the map makes 8); ``max_addresses`` buckets are kept
    (the least recently seen address is forgotten first)."""

    requests_per_s: float = 20.0
    burst: float = 120.0
    max_addresses: int = 10_000


class AddressLimiter:
    """One :class:`TokenBucket` per client address, at most ``limits.max_addresses`` of them. Used from the
    event loop only (no lock)."""

    def __init__(self, limits: PublicReadLimits) -> None:
        self.limits = limits
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def check(self, address: str, now_s: float, cost: float = 1.0) -> None:
        """Count one request of ``address`` at monotonic ``now_s``; raise :class:`TooManyRequests` when it
        is over the limit (the request is not counted then)."""
        bucket = self._buckets.pop(address, None)
        if bucket is None:
            bucket = TokenBucket(self.limits.requests_per_s, self.limits.burst)
            while len(self._buckets) >= self.limits.max_addresses:
                self._buckets.popitem(last=False)
        self._buckets[address] = bucket
        wait_s = bucket.take(cost, now_s)
        if wait_s > 0:
            seconds = max(1, math.ceil(wait_s))
            raise TooManyRequests(f"too many requests from this address; try again in {seconds} s", seconds)
