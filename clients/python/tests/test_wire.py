"""Encodings, hashes, signatures, addresses and keys against the shared known-answer vectors."""

from __future__ import annotations

import base64
import os
import stat

import numpy as np
import pytest

from verity import BadInput, Key, KeyFileError, Output, Receipt, Ticket, crypto, encoding, prepare_input


def test_keys_and_addresses_match_the_vectors(vectors: dict) -> None:
    for k in vectors["keys"]:
        key = Key.from_secret(k["secret"])
        assert key.public_key.hex() == k["public_key"]
        assert key.address == k["address"]
        assert key.address_bytes.hex() == k["address_bytes"]
        assert crypto.decode_address(k["address"]).hex() == k["address_bytes"]


def test_namespaces_match_the_vectors(vectors: dict) -> None:
    for kind in ("ticket", "tx", "receipt"):
        assert crypto.namespace(vectors["chain_id"], kind).decode() == vectors["namespaces"][kind]


def test_bech32m_round_trip_and_refusals() -> None:
    raw = bytes(range(20))
    text = crypto.encode_address(raw)
    assert text.startswith("verity1")
    assert crypto.decode_address(text) == raw
    assert crypto.decode_address(text.upper()) == raw
    last = text[-1]
    typo = text[:-1] + ("q" if last != "q" else "p")
    with pytest.raises(ValueError, match="checksum"):
        crypto.decode_address(typo)
    with pytest.raises(ValueError, match="checksum"):
        crypto.decode_address(text[:10] + text[11] + text[10] + text[12:])
    with pytest.raises(ValueError, match="mixes"):
        crypto.decode_address(text[:8] + text[8:].upper())
    with pytest.raises(ValueError, match="prefix 'cosmos'"):
        crypto.decode_address(crypto.bech32m_encode("cosmos", raw))
    with pytest.raises(ValueError, match="21 bytes"):
        crypto.decode_address(crypto.bech32m_encode("verity", raw + b"\x00"))


def test_ticket_bytes_id_and_signature(vectors: dict) -> None:
    v = vectors["ticket"]
    t = Ticket(**v["ticket"])
    assert t.signing_bytes().hex() == v["signing_bytes"]
    assert t.id == v["id"]
    key = Key.from_secret(v["caller_secret"])
    ns = vectors["namespaces"]["ticket"].encode()
    sig = key.sign(ns, t.signing_bytes())
    assert sig.hex() == v["signature"]
    assert crypto.verify(key.public_key, ns, t.signing_bytes(), sig)
    assert not crypto.verify(key.public_key, b"verity/other/ticket", t.signing_bytes(), sig)


def test_receipt_bytes_and_signature(vectors: dict) -> None:
    v = vectors["receipt"]
    r = Receipt.from_json(v["receipt"])
    assert r.signing_bytes().hex() == v["signing_bytes"]
    key = Key.from_secret(v["node_secret"])
    assert key.sign(vectors["namespaces"]["receipt"].encode(), r.signing_bytes()).hex() == v["signature"]


@pytest.mark.parametrize("i", range(3))
def test_transactions_bytes_hash_and_signed_form(vectors: dict, i: int) -> None:
    v = vectors["transactions"][i]
    key = Key.from_secret(v["signer_secret"])
    unsigned = encoding.transaction_bytes(key.public_key, v["nonce"], v["fee"], v["payload"])
    assert unsigned.hex() == v["signing_bytes"]
    assert crypto.sha256(unsigned).hex() == v["hash"]
    assert (unsigned + key.sign(vectors["namespaces"]["tx"].encode(), unsigned)).hex() == v["signed"]


def test_input_hashes(vectors: dict) -> None:
    v = vectors["inputs"]
    tensor = prepare_input(np.array(v["tensor"], dtype=np.float32))
    assert tensor.kind == "tensor_f32le"
    assert tensor.payload.hex() == v["tensor_f32le"]
    assert tensor.input_hash.hex() == v["tensor_hash"]
    assert prepare_input(list(v["tensor"])).input_hash.hex() == v["tensor_hash"]
    image = prepare_input(bytes.fromhex(v["image"]))
    assert image.kind == "image"
    assert image.input_hash.hex() == v["image_hash"]
    assert base64.b64decode(image.to_json()["base64"]) == bytes.fromhex(v["image"])


def test_output_canonical_bytes_and_hash(vectors: dict) -> None:
    for v in vectors["outputs"]:
        out = Output.from_json(v["output"])
        assert out.canonical_bytes().hex() == v["canonical_bytes"]
        assert out.hash() == v["hash"]
        assert out.to_json() == v["output"]
    integer = Output.from_json(vectors["outputs"][0]["output"])
    assert integer.argmax() == 2
    assert integer.as_floats() == [-5 / 256, 0.0, 70000 / 256]


def test_input_refusals_before_any_request(tmp_path) -> None:
    with pytest.raises(BadInput, match="NaN"):
        prepare_input(np.array([0.0, float("nan"), 1.0]))
    with pytest.raises(BadInput, match="finite"):
        prepare_input([1.0, float("inf")])
    with pytest.raises(BadInput, match="has 3 values but the model takes 64"):
        prepare_input([1.0, 2.0, 3.0], expected_len=64)
    with pytest.raises(BadInput, match="not a PNG or JPEG"):
        prepare_input(b"GIF89a....")
    with pytest.raises(BadInput, match="cannot read input file"):
        prepare_input(tmp_path / "missing.png")
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    with pytest.raises(BadInput, match="neither a PNG/JPEG image"):
        prepare_input(junk)
    with pytest.raises(BadInput, match="unsupported input type"):
        prepare_input(object())  # type: ignore[arg-type]


def test_npy_and_json_files_hash_like_the_array(tmp_path) -> None:
    arr = np.linspace(0, 1, 64, dtype=np.float32)
    np.save(tmp_path / "x.npy", arr)
    (tmp_path / "x.json").write_text('{"values": [%s]}' % ", ".join(repr(float(x)) for x in arr))
    (tmp_path / "y.json").write_text("[%s]" % ", ".join(repr(float(x)) for x in arr))
    want = prepare_input(arr).input_hash
    assert prepare_input(tmp_path / "x.npy").input_hash == want
    assert prepare_input(str(tmp_path / "x.json")).input_hash == want
    assert prepare_input(tmp_path / "y.json").input_hash == want


def test_key_file_save_load_and_permission_refusal(tmp_path) -> None:
    key = Key.generate()
    path = tmp_path / "k.key"
    key.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = Key.load(path)
    assert loaded.address == key.address and loaded.secret == key.secret
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match=f"chmod 600 {path}"):
        Key.load(path)
    os.chmod(path, 0o600)
    path.write_text('{"secret": "zz"}')
    with pytest.raises(KeyFileError, match="not a verity key file"):
        Key.load(path)
    with pytest.raises(KeyFileError, match="cannot read key file"):
        Key.load(tmp_path / "absent.key")
