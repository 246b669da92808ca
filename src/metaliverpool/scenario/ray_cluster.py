"""Ray for runs that leave the process: a local Ray instance (the default) or an existing cluster.

A local instance is started on first use with ``local_cpus`` logical CPUs, no dashboard, no usage
statistics, Ray's own logs kept in its session folder (``/tmp/ray``) rather than on the console, and every
Ray process listening on loopback only. An address joins an existing cluster: ``HOST:6379`` (the head's GCS
address, from a machine that is part of the cluster or can reach every node), ``ray://HOST:10001`` (Ray
Client, from anywhere that reaches the head) or ``auto`` (the cluster ``ray start`` made on this machine).
The cluster's nodes need the same ``metaliverpool`` installed and must see the twin bundles at the same
paths as the process submitting the work.

Ray keeps one connection per process; :class:`RayCluster` opens it when work first needs it and closes it
(stopping a local instance it started) when asked.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

LOCAL_OBJECT_STORE_BYTES = 512 * 2**20
"""Shared-memory object store of a local instance (bytes): run outputs pass through it."""


@dataclass(frozen=True)
class RaySettings:
    """``address``: an existing cluster, or None for a local instance with ``local_cpus`` logical CPUs
    (each run or engine run takes one, so this is how many run at once on this machine)."""

    address: str | None = None
    local_cpus: int = 2


@dataclass
class RayCluster:
    """The process's connection to Ray, opened by :meth:`connect` on first use."""

    settings: RaySettings
    startup_s: float | None = None
    """Seconds the connection (and a local instance's start) took; None until connected."""
    _owned: bool = field(default=False, repr=False)

    def connect(self) -> Any:
        """Connect (once) and return the ``ray`` module."""
        # Read by Ray when it is imported and inherited by the processes it starts: no usage statistics
        # sent anywhere, and a local instance resolves this node to loopback instead of its LAN address.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if self.settings.address is None:
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        import ray

        if ray.is_initialized():
            return ray
        started = time.perf_counter()
        quiet: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
        if self.settings.address is None:
            ray.init(
                address="local",
                num_cpus=self.settings.local_cpus,
                object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                include_dashboard=False,
                **quiet,
            )
        else:
            ray.init(address=self.settings.address, **quiet)
        self._owned = True
        self.startup_s = time.perf_counter() - started
        return ray

    def close(self) -> None:
        """Disconnect if :meth:`connect` connected (a local instance it started stops with it)."""
        if self._owned:
            import ray

            ray.shutdown()
            self._owned = False
