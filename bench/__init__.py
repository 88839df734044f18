"""Benchmarks of the helpdesk: `python -m bench [NAME ...]`, `make bench`.

Each benchmark is a function registered under a name in `bench.registry`; it returns a
`Result` whose rows `bench.report` writes into its own section of docs/benchmarks.md.
To add one, write a module with a function decorated by `@register(...)` and list the
module in `BENCHMARK_MODULES`.
"""

# Imported in this order, which is also the order `all` runs them in: the database is
# filled before the servers are measured against it.
BENCHMARK_MODULES = (
    "bench.load",
    "bench.lists",
    "bench.search",
    "bench.queue",
    "bench.sla",
    "bench.asgi",
    "bench.http",
    "bench.reports",
    "bench.knowledge",
    "bench.status",
    "bench.chat",
    "bench.outbox",
    "bench.day",
)
