"""What a Ray worker executes for one run: the scenario pipeline in a thread, its progress streamed back.

Kept light (the standard library and :mod:`metaliverpool.errors` at import): a fresh worker reports the
start at once and loads the pipeline as part of the run.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from metaliverpool.errors import InputError, MetaLiverpoolError

log = logging.getLogger(__name__)


def failure_message(error: BaseException) -> str:
    """The run's message for an error: an input error's own words, else its type and words."""
    if isinstance(error, InputError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def run_in_worker(document: dict[str, Any], cache_dir: str) -> Iterator[tuple[str, Any]]:
    """The body of a run on a worker (a Ray task streaming its items): ``("started", "host:pid")`` at once,
    ``("progress", (fraction, message))`` as it advances, and last ``("result", RunResult)`` (see
    :func:`metaliverpool.service.runs.execute_document`) or ``("failed", message)``. After a result, one
    more item: ``("vehicles", (bytes or None, note))``, the animation of the run
    (:func:`metaliverpool.service.runs.vehicles_layer`), made once the run is already done. The pipeline
    runs in a thread of the worker so that progress streams while it works.
    """
    yield ("started", f"{socket.gethostname()[:60]}:{os.getpid()}")
    items: queue.Queue[tuple[str, Any]] = queue.Queue()

    def progress(fraction: float, message: str = "") -> None:
        items.put(("progress", (fraction, message)))

    def work() -> None:
        from metaliverpool.service.runs import execute_document  # heavy: part of the run

        try:
            items.put(("result", execute_document(document, Path(cache_dir), progress)))
        except MetaLiverpoolError as error:
            items.put(("failed", failure_message(error)))
        except Exception as error:
            log.exception("run failed")
            items.put(("failed", failure_message(error)))

    threading.Thread(target=work, name="ml-run", daemon=True).start()
    while True:
        kind, value = items.get()
        yield (kind, value)
        if kind == "failed":
            return
        if kind == "result":
            from metaliverpool.service.runs import vehicles_layer

            yield ("vehicles", vehicles_layer(document, Path(cache_dir)))
            return
