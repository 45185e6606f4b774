"""The mixin's iso8601 is ccxt's, for every input, only faster for int milliseconds."""
import math

import ccxt.pro
from hypothesis import given, settings
from hypothesis import strategies as st

import ccxtpro_fast
from ccxtpro_fast.base.timefmt import Iso8601

ccxt_iso8601 = ccxt.pro.Exchange.iso8601


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.one_of(
    st.integers(min_value=-10, max_value=8640000000000010),
    st.integers(min_value=1_700_000_000_000, max_value=1_700_000_005_000),   # bursts in a second
    st.integers(min_value=1_699_999_990_000, max_value=1_700_000_190_000),   # seconds, minutes
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.text(alphabet="0123456789a", max_size=14)), max_size=30))
def test_same_text_as_ccxt_for_any_sequence(values):
    iso = Iso8601(ccxt_iso8601)
    for value in values:
        assert iso(value) == ccxt_iso8601(value), value


def test_every_exchange_instance_uses_it_and_the_class_keeps_ccxts():
    exchange = ccxtpro_fast.okx()
    assert isinstance(exchange.iso8601, Iso8601)
    assert exchange.iso8601(1700000000123) == ccxt_iso8601(1700000000123)
    assert ccxtpro_fast.okx.iso8601(1700000000123) == '2023-11-14T22:13:20.123Z'
    assert exchange.iso8601(math.inf) is None


def test_a_stream_across_seconds_minutes_hours_and_days():
    iso = Iso8601(ccxt_iso8601)
    start = 1_704_067_000_000      # 2023-12-31T23:56:40Z: crosses a minute, hour, day, year
    for timestamp in range(start, start + 400_000, 100):
        assert iso(timestamp) == ccxt_iso8601(timestamp), timestamp
