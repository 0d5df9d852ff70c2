"""Fixtures: a devnet started from ``$VERITY_BIN`` once per session, on free ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import httpx
import pytest

if TYPE_CHECKING:
    from verity import Client

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "models" / "digits" / "samples"
VECTORS = REPO / "clients" / "vectors.json"
NODES = 3
READY_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Devnet:
    """A running devnet."""

    gateway: str
    ledger: str
    home: Path
    log: Path

    @property
    def demo_key(self) -> Path:
        """The funded caller's key file."""
        return self.home / "keys" / "demo.key"

    def node_key(self, n: int) -> Path:
        """Provider node ``n``'s key file (1-based)."""
        return self.home / "keys" / f"node-{n}.key"

    def log_tail(self, lines: int = 40) -> str:
        """The end of the devnet's log, for failure messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _consecutive_free_ports(n: int) -> int:
    for _ in range(200):
        first = _free_port()
        if first + n < 65535 and all(_port_free(first + i) for i in range(n)):
            return first
    raise RuntimeError(f"found no {n} consecutive free ports for the devnet's provider nodes")


def _ready(gateway: str) -> bool:
    try:
        health = httpx.get(gateway + "/health", timeout=2.0, trust_env=False)
        if health.status_code != 200 or health.json().get("models_known", 0) < 2:
            return False
        models = httpx.get(gateway + "/v1/models", timeout=2.0, trust_env=False).json()
        for m in models:
            quote = httpx.get(
                f"{gateway}/v1/quote?model={m['id']}&mode=signed", timeout=2.0, trust_env=False
            )
            if quote.status_code != 200 or len(quote.json()["candidates"]) < NODES:
                return False
        return True
    except (httpx.HTTPError, ValueError, KeyError):
        return False


@pytest.fixture(scope="session")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """Start ``$VERITY_BIN devnet`` in a temporary home; stop it at the end of the session."""
    binary = os.environ.get("VERITY_BIN")
    if not binary:
        pytest.fail(
            "VERITY_BIN is not set; point it at a built verity binary, e.g. "
            "`VERITY_BIN=target/debug/verity scripts/test-python-sdk.sh`",
            pytrace=False,
        )
    if not os.access(binary, os.X_OK):
        pytest.fail(f"VERITY_BIN={binary} is not an executable file; build it with `cargo build`", pytrace=False)
    root = tmp_path_factory.mktemp("devnet")
    home = root / "home"
    log = root / "devnet.log"
    api, p2p, gw, hub = (_free_port() for _ in range(4))
    first_node = _consecutive_free_ports(NODES + 1)
    net = Devnet(gateway=f"http://127.0.0.1:{gw}", ledger=f"http://127.0.0.1:{api}", home=home, log=log)
    env = dict(os.environ, VERITY_HOME=str(home))
    env.pop("VERITY_URL", None)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                binary, "devnet",
                "--home", str(home),
                "--api", f"127.0.0.1:{api}",
                "--p2p", f"127.0.0.1:{p2p}",
                "--gateway", f"127.0.0.1:{gw}",
                "--hub", f"127.0.0.1:{hub}",
                "--first-node-port", str(first_node),
                "--nodes", str(NODES),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _ready(net.gateway):
            if proc.poll() is not None:
                pytest.fail(f"the devnet exited with status {proc.returncode}; its log ends:\n{net.log_tail()}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the devnet's gateway {net.gateway} was not ready with models and {NODES} nodes "
                    f"within {READY_TIMEOUT_S:.0f} s; its log ends:\n{net.log_tail()}",
                    pytrace=False,
                )
            time.sleep(0.5)
        yield net
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture(scope="session")
def vectors() -> dict:
    """The shared known-answer vectors (clients/vectors.json)."""
    return json.loads(VECTORS.read_text())


@pytest.fixture(scope="session")
def labels() -> dict[str, int]:
    """Sample image file name -> the digit it shows."""
    return json.loads((SAMPLES / "labels.json").read_text())


def wait_quoted(client: "Client", model: str, mode: str, node: str, price: int, timeout: float = 15.0) -> None:
    """Wait until the gateway quotes ``node`` at ``price`` (its registry view refreshes about
    once a second, so a price change on the ledger reaches quotes shortly after)."""
    deadline = time.monotonic() + timeout
    while True:
        quoted = [c.price.price for c in client.quote(model, mode).candidates if c.node == node]
        if quoted == [price]:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the gateway quotes {node} at {quoted} in {mode}, not {price}, after {timeout:g} s")
        time.sleep(0.25)
