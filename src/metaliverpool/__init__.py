"""Meta Liverpool: an open-source digital twin of the Liverpool City Region.

Layers (see docs/architecture.md): foundation (errors, config, atomic) -> kernels -> domain
(network, demand, edits) -> engines (assign, sim, predict, control, metrics) -> edges (ingest, store)
-> application (scenario, service) -> entry points (cli, api, workers).
"""

__version__ = "0.1.0"
