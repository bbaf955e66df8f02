"""The executable reference of the native core: today's Python rules (tests/test_native_facts.py)."""
