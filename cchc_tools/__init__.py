"""Tooling around the warehouse, not part of the nightly path: the demo country generator (with its
realistic faults and the broken Office files it injects) and the benchmark. `cchc demo-data`, `cchc bench`
and the demo inbox of `make run` call into it; the runtime package `ingestion` never imports it at load time."""
