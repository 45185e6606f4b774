"""The deep run: every property and fuzz file again with 20x the examples (`pytest -m slow`,
deselected by default). Each file runs in its own pytest process with CCXF_DEEP=20."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
FILES = ["test_orderbook_properties.py", "test_orderbook_differential.py", "test_numbers.py",
         "test_fuzz_core.py", "test_framing.py"]


@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_deep_run(name):
    env = dict(os.environ, CCXF_DEEP="20")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", str(HERE / name)],
        env=env, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
