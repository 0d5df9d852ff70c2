"""A real receipt altered after signing is rejected, naming the check that failed."""

from __future__ import annotations

import dataclasses

import pytest

from verity import Client, Key, ReceiptInvalid, check_result

from conftest import SAMPLES, Devnet


@pytest.fixture(scope="module")
def client(devnet: Devnet):
    with Client(devnet.gateway, devnet.demo_key) as c:
        yield c


@pytest.fixture(scope="module")
def result(client: Client):
    r = client.call("digits-cnn", SAMPLES / "digit-6.png")
    assert r.verified
    return r


def test_genuine_receipt_verifies_again(client: Client, result) -> None:
    client.verify_receipt(result)
    client.verify_receipt(dataclasses.replace(result, verified=False))


def test_altered_output_value_is_rejected(client: Client, result) -> None:
    values = list(result.output.values)
    values[0] += 1
    forged = dataclasses.replace(result, output=dataclasses.replace(result.output, values=tuple(values)))
    with pytest.raises(ReceiptInvalid) as e:
        client.verify_receipt(forged)
    assert e.value.code == "output_hash_mismatch"
    assert "altered" in e.value.message


def test_altered_label_winner_is_rejected(client: Client, result) -> None:
    values = list(result.output.values)
    values[1] = max(values) + 1000
    forged = dataclasses.replace(result, output=dataclasses.replace(result.output, values=tuple(values)), label=1)
    assert forged.output.argmax() == 1
    with pytest.raises(ReceiptInvalid, match="receipt commits to"):
        client.verify_receipt(forged)


def test_altered_price_is_rejected(client: Client, result) -> None:
    cheaper = dataclasses.replace(result, receipt=dataclasses.replace(result.receipt, price=result.receipt.price - 1))
    with pytest.raises(ReceiptInvalid) as e:
        client.verify_receipt(cheaper)
    assert e.value.code == "bad_signature"
    above = dataclasses.replace(result, receipt=dataclasses.replace(result.receipt, price=result.ticket.price_cap + 1))
    with pytest.raises(ReceiptInvalid) as e:
        client.verify_receipt(above)
    assert e.value.code == "price_above_cap"


def test_altered_signature_is_rejected(client: Client, result) -> None:
    sig = bytearray.fromhex(result.receipt_signature)
    sig[10] ^= 0x01
    forged = dataclasses.replace(result, receipt_signature=sig.hex())
    with pytest.raises(ReceiptInvalid) as e:
        client.verify_receipt(forged)
    assert e.value.code == "bad_signature"
    with pytest.raises(ReceiptInvalid, match="signature"):
        client.verify_receipt(dataclasses.replace(result, receipt_signature="zz"))


def test_wrong_node_key_is_rejected(client: Client, result) -> None:
    with pytest.raises(ReceiptInvalid) as e:
        check_result(result, Key.generate().public_key, client.chain_id)
    assert e.value.code == "bad_signature"
    other = next(n["operator"] for n in client.nodes() if n["operator"] != result.node)
    other_key = bytes.fromhex(client.account(other)["public_key"])
    with pytest.raises(ReceiptInvalid):
        check_result(result, other_key, client.chain_id)
    with pytest.raises(ReceiptInvalid):
        check_result(result, client.node_key(result.node, "signed"), "another-chain")
    check_result(result, client.node_key(result.node, "signed"), client.chain_id)


def test_receipt_re_signed_by_another_key_is_rejected(client: Client, result) -> None:
    """A gateway forging an answer signs it with its own key; the ledger's key catches it."""
    from verity import crypto

    impostor = Key.generate()
    values = list(result.output.values)
    values[2] -= 7
    output = dataclasses.replace(result.output, values=tuple(values))
    receipt = dataclasses.replace(result.receipt, output_hash=output.hash())
    signature = impostor.sign(crypto.namespace(client.chain_id, "receipt"), receipt.signing_bytes()).hex()
    forged = dataclasses.replace(result, output=output, receipt=receipt, receipt_signature=signature)
    check_result(forged, impostor.public_key, client.chain_id)
    with pytest.raises(ReceiptInvalid) as e:
        client.verify_receipt(forged)
    assert e.value.code == "bad_signature"


def test_answer_for_another_ticket_or_node_is_rejected(client: Client, result) -> None:
    other_ticket = dataclasses.replace(result.ticket, nonce=result.ticket.nonce ^ 1)
    with pytest.raises(ReceiptInvalid) as e:
        client.verify_receipt(dataclasses.replace(result, ticket=other_ticket))
    assert e.value.code == "call_id_mismatch"
    other = next(n["operator"] for n in client.nodes() if n["operator"] != result.node)
    with pytest.raises(ReceiptInvalid) as e:
        client.verify_receipt(dataclasses.replace(result, node=other))
    assert e.value.code == "node_mismatch"
