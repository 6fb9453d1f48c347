"""The benchmark: a seeded synthetic programme (``generate``), its CLI (``flask d2w bench``) and the
app factory the benchmark server runs (``wsgi``). Production code never imports this package."""
