"""frictionkit's workshop: benchmarks, load generators, soak and overload drivers.

Not part of the installed package (a user never runs these): they live beside
``src/`` and are run by ``commands/bench-*``, ``commands/soak`` and
``commands/overload`` from the repository root (``python -m workshop.ingest``),
and imported by the tests that check them. They use frictionkit as a user's
code would, through its public modules; nothing in ``src/`` imports them
(tests/test_layering.py).
"""
