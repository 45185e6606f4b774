"""The command line: the demo runs from the embedded simulator, errors are one line."""
import pytest

from ccxtpro_fast import cli


def test_demo_streams_a_live_book_from_the_simulator(capsys):
    assert cli.main(["demo", "--duration", "2", "--plain", "--rate", "100"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "updates" in line]
    assert lines, "the demo printed no status line"
    last = lines[-1]
    assert "bid [" in last and "ask [" in last
    updates = int(last.split(" updates")[0].split()[-1])
    assert updates > 20
    assert "latency" in last


def test_watch_against_the_simulator(capsys):
    assert cli.main(["watch", "binance", "ETH/USDT", "--sim", "--book", "--duration", "1.5",
                     "--plain"]) == 0
    assert "updates" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["watch", "nosuchexchange", "BTC/USDT", "--sim", "--duration", "1"], "unknown exchange"),
    (["watch", "kucoin", "BTC/USDT", "--sim", "--duration", "1"], "does not speak kucoin"),
])
def test_errors_are_one_line_and_a_hint(capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: ") and message in err[0]
    assert err[1].startswith("hint: ")
    assert len(err) == 2
