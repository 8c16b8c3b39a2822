"""Peak memory stays flat over a 100 times longer stream (slow: run with -m slow)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "memory_flat.py"


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_stream():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--steps", "16", "--factor", "100"],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["long"]["updates"] == 100 * result["short"]["updates"]
    # The long stream's own data is ~1.6 MB; activations must not grow with it.
    assert result["growth_mib"] < 32, result
