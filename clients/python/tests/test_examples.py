"""The example bots, run as programs against the devnet."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from verity import Client

from conftest import SAMPLES, Devnet, wait_quoted

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(*args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)


def test_caller_bot_stays_within_budget(devnet: Devnet, labels: dict[str, int], tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    names = ["digit-1.png", "digit-4.png", "digit-6.png", "digit-7.png", "digit-9.png"]
    for name in names:
        shutil.copy(SAMPLES / name, folder / name)
    (folder / "a-notes.txt").write_text("not an image")
    with Client(devnet.gateway, None) as c:
        quote = c.quote("digits-cnn")
    cheapest = quote.cheapest
    most = max(cand.price.price for cand in quote.candidates)
    budget = 2 * most + cheapest - 1
    proc = _run(
        str(EXAMPLES / "caller_bot.py"),
        "--gateway", devnet.gateway,
        "--key", str(devnet.demo_key),
        "--folder", str(folder),
        "--budget", str(budget),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    served = re.findall(r"^(digit-\d\.png): label (\d+) price (\d+) node \S+ receipt verified$", out, re.M)
    assert len(served) >= 2, out
    for name, label, _ in served:
        assert int(label) == labels[name], out
    assert sum(int(p) for _, _, p in served) <= budget
    assert len(served) < len(names) and "stop:" in out, out
    assert "skip: a-notes.txt:" in out and "neither a PNG/JPEG image" in out, out
    assert out.count("settled ") == len(served), out
    total = int(re.search(r"total spent (\d+) of budget (\d+)", out).group(1))
    assert total == sum(int(p) for _, _, p in served) <= budget


def test_operator_bot_moves_price_within_bounds(devnet: Devnet) -> None:
    key = devnet.node_key(3)
    with Client(devnet.gateway, key) as c:
        before = {p["mode"]: p["price"] for p in c.node(c.key.address)["prices"]}["audited"]
        low, high = before - 100, before + 1000
        proc = _run(
            str(EXAMPLES / "operator_bot.py"),
            "--gateway", devnet.gateway,
            "--key", str(key),
            "--model", "digits-mlp",
            "--mode", "audited",
            "--target-share", "1.0",
            "--step", "60",
            "--min-price", str(low),
            "--max-price", str(high),
            "--rounds", "3",
            "--interval", "0.2",
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = proc.stdout
        decisions = re.findall(r"round (\d): audited price (\d+), .* -> (\d+)$", out, re.M)
        assert [int(d[0]) for d in decisions] == [1, 2, 3], out
        assert [int(d[2]) for d in decisions] == [before - 60, low, low], out
        assert "held at the minimum" in out
        assert out.count("UpdateNode") == 2, out
        assert {p["mode"]: p["price"] for p in c.node(c.key.address)["prices"]}["audited"] == low
        c.update_node_prices({"audited": before})
        wait_quoted(c, "digits-mlp", "audited", c.key.address, before)
