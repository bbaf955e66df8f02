import random

from frictionkit.pipeline.keyfilter import KeyFilter


def test_every_added_key_is_found_and_few_others_are():
    rng = random.Random(3)
    keys = [("org", "p", f"s{rng.getrandbits(64):x}") for _ in range(50_000)]
    f = KeyFilter(keys)
    assert all(k in f for k in keys)  # never a false negative: history is never skipped
    others = [("org", "p", f"t{i}") for i in range(50_000)]
    false_positives = sum(1 for k in others if k in f)
    assert false_positives < 50  # ~0 expected at this load; a positive only costs a lookup
