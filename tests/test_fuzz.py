"""A short fuzz run over the container parser and the decoder (the long one is
`python -m lic_codec.fuzz --cases N`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lic_codec import fuzz
from lic_codec.codec import Codec
from lic_codec.errors import LiccError
from lic_codec.format.container import read_container


@pytest.fixture(scope="module")
def codec(tiny_weights) -> Codec:
    return Codec(weights=tiny_weights)


@pytest.fixture(scope="module")
def seeds(codec) -> list[bytes]:
    return fuzz.seeds(codec)


def test_mutation_run(codec, seeds):
    rng = np.random.default_rng(123)
    counts = {"refused": 0, "decoded": 0, "finding": 0}
    for i in range(300):
        kind, data = fuzz.mutate(seeds[i % len(seeds)], rng)
        status, problem = fuzz.check(codec.decode, data, time_limit=10)
        assert problem is None, f"case {i} ({kind}): {problem}"
        counts[status] += 1
    assert counts["refused"] > 100  # most damage is caught


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_parser(blob):
    for data in (blob, b"LICC" + blob):
        try:
            read_container(data)
        except LiccError:
            pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.data())
def test_hypothesis_edits_of_a_valid_file(codec, seeds, data):
    base = data.draw(st.sampled_from(seeds))
    pos = data.draw(st.integers(0, len(base) - 1))
    new = data.draw(st.binary(min_size=0, max_size=8))
    mutated = base[:pos] + new + base[pos + len(new):]
    status, problem = fuzz.check(codec.decode, mutated, time_limit=10)
    assert problem is None
