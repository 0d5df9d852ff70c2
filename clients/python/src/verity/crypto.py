"""Addresses (bech32m), domain-separated hashes and the ed25519 signing convention.

Mirrors ``crates/ledger/src/crypto.rs`` and ``types.rs``:

* an address is the first 20 bytes of ``sha256(b"verity/address" + public_key)``, written as
  bech32m with human-readable part ``verity``;
* tensor inputs hash as ``sha256(b"verity/input/tensor-f32le\\n" + f32le bytes)``, images as
  ``sha256(b"verity/input/image\\n" + file bytes)``, outputs as
  ``sha256(b"verity/output/v1\\n" + canonical bytes)``;
* ed25519 signs ``varint(len(namespace)) + namespace + message`` with the namespace
  ``verity/<chain_id>/<kind>`` (kind ``ticket``, ``tx`` or ``receipt``).
"""

from __future__ import annotations

import hashlib

import nacl.exceptions
import nacl.signing

HRP = "verity"
ADDRESS_LEN = 20
ADDRESS_DOMAIN = b"verity/address"
TENSOR_INPUT_DOMAIN = b"verity/input/tensor-f32le\n"
IMAGE_INPUT_DOMAIN = b"verity/input/image\n"
OUTPUT_DOMAIN = b"verity/output/v1\n"

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONST = 0x2BC830A3


def sha256(*parts: bytes) -> bytes:
    """SHA-256 over the concatenation of ``parts``."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def tensor_input_hash(f32le: bytes) -> bytes:
    """The ``input_hash`` of a tensor input given as little-endian f32 bytes."""
    return sha256(TENSOR_INPUT_DOMAIN, f32le)


def image_input_hash(data: bytes) -> bytes:
    """The ``input_hash`` of an image input (the encoded file's bytes)."""
    return sha256(IMAGE_INPUT_DOMAIN, data)


def output_hash(canonical: bytes) -> bytes:
    """The ``output_hash`` a receipt carries for an output's canonical bytes."""
    return sha256(OUTPUT_DOMAIN, canonical)


def _polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], frm: int, to: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << to) - 1
    for value in data:
        if value < 0 or value >> frm:
            raise ValueError("invalid data value for bit conversion")
        acc = (acc << frm) | value
        bits += frm
        while bits >= to:
            bits -= to
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to - bits)) & maxv)
    elif bits >= frm or ((acc << (to - bits)) & maxv):
        raise ValueError("invalid padding in the data part")
    return out


def bech32m_encode(hrp: str, data: bytes) -> str:
    """Encode ``data`` (8-bit bytes) as bech32m with human-readable part ``hrp``."""
    five = _convert_bits(data, 8, 5, True)
    values = _hrp_expand(hrp) + five
    polymod = _polymod(values + [0] * 6) ^ _BECH32M_CONST
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in five + checksum)


def bech32m_decode(text: str) -> tuple[str, bytes]:
    """Decode a bech32m string into ``(hrp, data bytes)``; raises ``ValueError`` when invalid."""
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise ValueError(f"'{text}' has characters outside printable ASCII")
    if text.lower() != text and text.upper() != text:
        raise ValueError(f"'{text}' mixes upper and lower case")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        raise ValueError(f"'{text}' has no human-readable part or a too-short checksum")
    hrp, rest = text[:pos], text[pos + 1 :]
    try:
        values = [_CHARSET.index(c) for c in rest]
    except ValueError:
        raise ValueError(f"'{text}' has characters outside the bech32 alphabet") from None
    if _polymod(_hrp_expand(hrp) + values) != _BECH32M_CONST:
        raise ValueError(f"'{text}' has a bad bech32m checksum; check for a typo")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, False))


def address_bytes_of_key(public_key: bytes) -> bytes:
    """The 20 address bytes of an ed25519 public key."""
    if len(public_key) != 32:
        raise ValueError(f"a public key is 32 bytes, got {len(public_key)}")
    return sha256(ADDRESS_DOMAIN, public_key)[:ADDRESS_LEN]


def address_of_key(public_key: bytes) -> str:
    """The ``verity1…`` address of an ed25519 public key."""
    return encode_address(address_bytes_of_key(public_key))


def encode_address(raw: bytes) -> str:
    """The ``verity1…`` string of 20 address bytes."""
    if len(raw) != ADDRESS_LEN:
        raise ValueError(f"an address is {ADDRESS_LEN} bytes, got {len(raw)}")
    return bech32m_encode(HRP, raw)


def decode_address(address: str) -> bytes:
    """The 20 bytes of a ``verity1…`` address; raises ``ValueError`` naming the problem."""
    hrp, raw = bech32m_decode(address)
    if hrp != HRP:
        raise ValueError(f"address '{address}' has prefix '{hrp}', expected '{HRP}'")
    if len(raw) != ADDRESS_LEN:
        raise ValueError(f"address '{address}' holds {len(raw)} bytes, expected {ADDRESS_LEN}")
    return raw


def namespace(chain_id: str, kind: str) -> bytes:
    """The signing namespace ``verity/<chain_id>/<kind>``."""
    return f"verity/{chain_id}/{kind}".encode()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def signed_message(ns: bytes, message: bytes) -> bytes:
    """The bytes ed25519 actually signs: ``varint(len(ns)) || ns || message``."""
    return _varint(len(ns)) + ns + message


def verify(public_key: bytes, ns: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``public_key``'s signature of ``message`` under ``ns``."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        nacl.signing.VerifyKey(public_key).verify(signed_message(ns, message), signature)
        return True
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return False
