"""Typed errors: each failure raises its class with the API's code and a useful message."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from verity import (
    BadInput,
    Client,
    InsufficientEscrow,
    Key,
    NetworkError,
    NotFound,
    PriceAboveCap,
    Timeout,
    TransactionFailed,
    VerityError,
)

from conftest import SAMPLES, Devnet


@pytest.fixture(scope="module")
def client(devnet: Devnet):
    with Client(devnet.gateway, devnet.demo_key) as c:
        yield c


def _values() -> list[float]:
    return json.loads((SAMPLES / "values-3.json").read_text())["values"]


def test_unreachable_gateway_is_a_network_error(devnet: Devnet) -> None:
    with Client("http://127.0.0.1:9", devnet.demo_key) as c:
        with pytest.raises(NetworkError) as e:
            c.quote("digits-cnn")
    assert "verity devnet" in e.value.message and "127.0.0.1:9" in e.value.message
    assert e.value.status is None


def test_price_cap_below_every_node_is_price_above_cap(client: Client) -> None:
    with pytest.raises(PriceAboveCap) as e:
        client.call("digits-cnn", _values(), max_price=1)
    assert e.value.status == 400
    assert e.value.code == "price_cap_below_quote"
    assert "max_price" in e.value.message


def _record_posts(client: Client) -> list[str]:
    sent: list[str] = []

    def hook(request: httpx.Request) -> None:
        if request.method == "POST":
            sent.append(str(request.url))

    client._http.event_hooks["request"].append(hook)
    return sent


def test_bad_inputs_are_refused_before_the_call_is_sent(client: Client, devnet: Devnet) -> None:
    sent = _record_posts(client)
    values = _values()
    values[5] = float("nan")
    with pytest.raises(BadInput, match="value 5 is nan"):
        client.call("digits-cnn", values)
    with pytest.raises(BadInput, match="63 values but the model takes 64"):
        client.call("digits-cnn", _values()[:63])
    with pytest.raises(BadInput, match="cannot read input file"):
        client.call("digits-cnn", SAMPLES / "no-such-file.png")
    assert sent == []
    with Client("http://127.0.0.1:9", devnet.demo_key) as offline:
        with pytest.raises(BadInput):
            offline.call("digits-cnn", [float("inf")] * 64)


def test_unknown_model_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound, match="no registered model is named or has id 'digits-gpt'"):
        client.call("digits-gpt", _values())
    with pytest.raises(NotFound) as e:
        client.quote("ab" * 32)
    assert e.value.code == "unknown_model" and e.value.status == 404


def test_bad_mode_is_bad_input(client: Client) -> None:
    with pytest.raises(BadInput, match="unknown mode 'fast'"):
        client.call("digits-cnn", _values(), mode="fast")


def test_funded_key_without_escrow_gets_insufficient_escrow(client: Client, devnet: Devnet) -> None:
    fresh = Key.generate()
    tx = client.transfer(fresh.address, 50_000_000)
    assert tx.status == "applied" and tx.kind == "transfer"
    with Client(devnet.gateway, fresh) as c:
        account = c.account()
        assert account["balance"] == 50_000_000 and account["escrow"] == 0
        with pytest.raises(InsufficientEscrow) as e:
            c.call("digits-cnn", _values())
        assert e.value.status == 402
        assert "escrow" in e.value.message
        c.escrow_deposit(1_000_000)
        assert c.account()["escrow"] == 1_000_000
        deadline = time.monotonic() + 15
        while True:
            try:
                result = c.call("digits-cnn", _values())
                break
            except InsufficientEscrow:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert result.label == 3 and result.verified


def test_transaction_refusal_is_transaction_failed(client: Client, devnet: Devnet) -> None:
    poor = Key.generate()
    client.transfer(poor.address, 5_000)
    with Client(devnet.gateway, poor) as c:
        with pytest.raises(TransactionFailed) as e:
            c.transfer(client.key.address, 10**12)
    assert e.value.code == "insufficient_balance"


def test_wait_settled_times_out(client: Client) -> None:
    r = client.call("digits-cnn", _values())
    with pytest.raises(Timeout) as e:
        client.wait_settled(r.call_id, timeout=0.01)
    assert r.call_id in e.value.message
    assert isinstance(e.value, VerityError)


def test_unknown_call_is_awaiting_submission_or_not_found(client: Client) -> None:
    status = client.call_status("00" * 32)
    assert status.state == "awaiting_submission" and status.call is None
