"""The word-at-a-time parsers for short numbers (up to 16 bytes, read from inside a str or
bytes object) against the byte-loop parser and Python's float.

The same level goes through three paths: ``store_levels`` (str objects, word parser),
``store_json`` on bytes (word parser) and ``store_json`` on a memoryview of the same bytes
(no bytes are readable before it: the byte-loop parser). All three must store the same
level, or all three must reject it with the same exception class."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccxtpro_fast import _core

SETTINGS = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DIGITS = st.text("0123456789", max_size=12)
# well-formed decimals of every length around the 8- and 16-byte word boundaries
DECIMALS = st.builds(lambda sign, i, dot, f: sign + i + (("." + f) if dot else ""),
                     st.sampled_from(["", "-"]), st.text("0123456789", min_size=1, max_size=18),
                     st.booleans(), st.text("0123456789", min_size=1, max_size=18))
NEAR_MISSES = st.text("0123456789.-+eE x\x00", max_size=20)
TEXT = st.one_of(DECIMALS, NEAR_MISSES, DIGITS)


def outcome(store):
    side = _core.Bids()
    side.store_levels([["100.5", "1"], ["99.25", "2"]])
    try:
        store(side)
    except Exception as error:     # the class is what must agree
        return type(error)
    return side.tolist()


def paths(price, amount):
    raw = ('[["%s","%s"]]' % (price, amount)).encode()
    return {
        "store_levels": outcome(lambda s: s.store_levels([[price, amount]])),
        "store_json bytes": outcome(lambda s: s.store_json(raw)),
        "store_json memoryview": outcome(lambda s: s.store_json(memoryview(raw))),
    }


def expected(price, amount):
    try:
        p, a = float(price), float(amount)
    except ValueError:
        return None
    return p, a


@SETTINGS
@given(price=TEXT, amount=TEXT)
def test_three_paths_agree_and_match_float(price, amount):
    results = paths(price, amount)
    assert len(set(map(repr, results.values()))) == 1, results
    got = results["store_levels"]
    if isinstance(got, list):
        # accepted: the values are Python's floats of the texts
        p, a = expected(price, amount)
        model = {100.5: 1.0, 99.25: 2.0}
        if a:
            model[p] = a
        else:
            model.pop(p, None)
        assert got == [[k, model[k]] for k in sorted(model, reverse=True)]


@pytest.mark.parametrize("text", [
    "1", "12345678", "123456789", "1234567890123456", "9007199254740993", "0.1", "1.2345678",
    "12345678.9", "1.23456789", "0.00000001", "123456789012345.6", "1234567.89012345",
    "-0.5", "-12345678.12345678", "00.10", "0", "0.0000", "-0", "9999999999999999",
])
def test_boundary_lengths_are_exact(text):
    results = paths(text, "1")
    assert len(set(map(repr, results.values()))) == 1, results
    if float(text):
        assert [float(text), 1.0] in results["store_levels"]


@pytest.mark.parametrize("text", [
    ".5", "5.", "-", "-.5", "1..2", "1.2.3", "1.2-", "+1", " 1", "1 ", "1e5x", "", "--1",
    "12345678.", ".12345678", "1234567.8.", "1\x002",
])
def test_malformed_short_texts_are_rejected_alike(text):
    results = paths(text, "1")
    assert len(set(map(repr, results.values()))) == 1, results
    if expected(text, "1") is None:
        assert results["store_levels"] is _core.DecimalError or issubclass(
            results["store_levels"], ValueError)


@pytest.mark.parametrize("amount, kept", [("0", False), ("0.00000000", False), ("-0", False),
                                          ("0000000000000000", False), ("0.000000000000001", True),
                                          ("00000000.00000001", True)])
def test_zero_amounts_delete_and_others_keep(amount, kept):
    got = paths("100.5", amount)
    assert len(set(map(repr, got.values()))) == 1, got
    prices = [p for p, _ in got["store_levels"]]
    assert (100.5 in prices) is kept


# --------------------------------------------------------------- the amount validators
# An amount is validated by one SSE2 register where the platform has it, else by two
# words: each must give what the general parser gives, on every text. `_amount_for_tests`
# runs the ways this build has (both on x86_64) on text after 16 bytes of padding.

AMOUNT_TEXT = st.one_of(DECIMALS, NEAR_MISSES, DIGITS,
                        st.text("0.", max_size=18), st.text("09.-", min_size=1, max_size=17))


def general_amount(text):
    """(accepted, value, lazy) as the general parser (ccxf_parse_amount) has it: a plain
    decimal that a level keeps as text (at most 23 bytes) and whose digits make an integer
    of at most 2**53 is stored unconverted (its sign as value, lazy) unless it is zero;
    any other number is converted now."""
    import re
    body = text[1:] if text.startswith("-") else text
    plain = re.fullmatch(r"[0-9]+(\.([0-9]+))?", body)
    # the core's grammar is JSON's: "1.", ".5", "+1", " 1" and "1_0" are not numbers
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?", text):
        return False, None, None
    value = float(text)
    if value in (float("inf"), float("-inf")):
        return False, None, None
    if plain and len(text) <= 23:
        digits = body.replace(".", "")
        frac = len(plain.group(2) or "")
        if len(digits) <= 19 and frac <= 22 and int(digits) <= 2 ** 53:
            if int(digits) == 0:
                return True, 0.0, 0
            return True, -1.0 if text.startswith("-") else 1.0, 1
    return True, value, 0


def check_amount_ways(text):
    ways = _core.orderbook._amount_for_tests(b"#" * 16 + text.encode())
    accepted, value, lazy = general_amount(text)
    for way, (rc, got_value, got_lazy) in ways.items():
        if not accepted or len(text) > 64:
            assert rc != 0, (way, text)
            continue
        assert rc == 0, (way, text, rc)
        assert (got_value, got_lazy) == (value, lazy), (way, text, got_value, got_lazy)


@SETTINGS
@given(text=AMOUNT_TEXT)
def test_amount_validators_agree_with_the_rule(text):
    check_amount_ways(text)


@pytest.mark.parametrize("text", [
    "0", "5", "-5", "0.0", "00.000", "-0.0", "1.", ".5", "-.5", "1..2", "1.2.3", "12345678",
    "123456789", "1234567.8", "12345678.9", "1234567890123456", "123456789012345.6",
    "0.00000000", "0.00000001", "1.49166568", "-", "+1", "1e5", "1 ", " 1", "9" * 17,
    "1.234567890123456", "00000000000000.1", "0000000000000000",
])
def test_amount_validators_at_the_edges(text):
    check_amount_ways(text)


def test_the_register_is_used_where_the_platform_has_it():
    import platform

    ways = _core.orderbook._amount_for_tests(b"#" * 16 + b"1.5")
    if platform.machine() in ("x86_64", "AMD64"):
        assert set(ways) == {"words", "sse2"}
    assert ways["words"] == (0, 1.0, 1)
