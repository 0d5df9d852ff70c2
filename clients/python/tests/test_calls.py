"""Paid calls against the devnet: every input form, receipts verified, calls settled."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from verity import CallResult, Client, Key

from conftest import SAMPLES, Devnet


@pytest.fixture(scope="module")
def client(devnet: Devnet):
    with Client(devnet.gateway, devnet.demo_key) as c:
        yield c


def _values_3() -> list[float]:
    return json.loads((SAMPLES / "values-3.json").read_text())["values"]


def _check(result: CallResult, digit: int, client: Client) -> None:
    assert result.verified is True
    assert result.label == digit
    assert result.output.argmax() == digit
    assert result.receipt.ticket == result.call_id == result.ticket.id
    assert result.ticket.caller == client.key.address
    assert result.node == result.ticket.node
    assert 0 < result.price.price == result.receipt.price <= result.ticket.price_cap
    assert result.price.node + result.price.royalty + result.price.verifier + result.price.protocol == result.price.price


def test_discovers_ledger_and_chain_from_the_gateway(client: Client, devnet: Devnet) -> None:
    assert client.ledger_url == devnet.ledger
    assert client.chain_id == client.status()["chain_id"] == client.params()["chain_id"]
    names = sorted(m.name for m in client.models())
    assert names == ["digits-cnn", "digits-mlp"]
    assert client.model("digits-cnn").input_shape == (1, 1, 8, 8)
    assert len(client.nodes()) >= 3


def test_quote_lists_candidates_with_itemized_prices(client: Client) -> None:
    quote = client.quote("digits-cnn", "signed")
    assert quote.mode == "signed" and quote.model == client.model("digits-cnn").id
    assert len(quote.candidates) >= 3
    for cand in quote.candidates:
        p = cand.price
        assert p.node + p.royalty + p.verifier + p.protocol == p.price
    capped = client.quote("digits-cnn", "signed", max_price=quote.cheapest)
    assert all(c.price.price <= quote.cheapest for c in capped.candidates)


def test_calls_with_every_input_form_and_settle(client: Client, labels: dict[str, int], tmp_path) -> None:
    results: list[CallResult] = []
    arr = np.array(_values_3(), dtype=np.float32).reshape(1, 1, 8, 8)
    r = client.call("digits-cnn", arr)
    _check(r, 3, client)
    results.append(r)

    r = client.call("digits-mlp", _values_3())
    _check(r, 3, client)
    results.append(r)

    r = client.call("digits-cnn", SAMPLES / "values-3.json")
    _check(r, 3, client)
    results.append(r)

    np.save(tmp_path / "three.npy", arr)
    r = client.call("digits-cnn", str(tmp_path / "three.npy"))
    _check(r, 3, client)
    results.append(r)

    for name in ("digit-7.png", "digit-2.png"):
        r = client.call("digits-cnn", SAMPLES / name)
        _check(r, labels[name], client)
        results.append(r)

    with Image.open(SAMPLES / "digit-5.png") as img:
        r = client.call("digits-cnn", img)
    _check(r, labels["digit-5.png"], client)
    results.append(r)

    r = client.call(client.model("digits-cnn").id, (SAMPLES / "digit-9.png").read_bytes())
    _check(r, labels["digit-9.png"], client)
    results.append(r)

    assert len({r.call_id for r in results}) == len(results)
    for r in results:
        settled = client.wait_settled(r, timeout=120)
        assert settled.state == "settled"
        assert settled.call_id == r.call_id
        assert settled.call is not None
        assert settled.price == r.receipt.price
        assert settled.call["output_hash"] == r.receipt.output_hash
        assert settled.call["caller"] == client.key.address


def test_audited_mode_call(client: Client) -> None:
    r = client.call("digits-mlp", _values_3(), mode="audited")
    assert r.mode == "audited" and r.verified and r.label == 3
    assert r.price.mode_surcharge > 0


def test_tee_receipt_is_checked_with_the_enclave_key_from_the_ledger(client: Client) -> None:
    r = client.call("digits-cnn", _values_3(), mode="tee")
    assert r.verified and r.label == 3
    enclave = client.node(r.node)["enclave_key"]
    account_key = client.account(r.node)["public_key"]
    assert enclave != account_key
    assert client.node_key(r.node, "tee").hex() == enclave


def test_client_accepts_a_key_object(devnet: Devnet) -> None:
    key = Key.load(devnet.demo_key)
    with Client(devnet.gateway, key, ledger_url=devnet.ledger, chain_id="verity-devnet") as c:
        assert c.account()["address"] == key.address
        assert c.account()["escrow"] > 0
