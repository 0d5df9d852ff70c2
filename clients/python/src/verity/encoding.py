"""Borsh encodings of the few ledger structures a client signs or checks.

Mirrors ``crates/ledger/src/tx.rs`` and ``types.rs``: integers little-endian, ``Vec`` as a
``u32`` length then the items, ``String`` as a ``u32`` length then UTF-8, ``Option`` as a ``u8``
tag then the value, enums as a ``u8`` variant index then the fields.
"""

from __future__ import annotations

import struct
from typing import Any, Mapping, Sequence

from .crypto import decode_address

MODES: tuple[str, ...] = ("signed", "audited", "tee", "zk")
"""Verification modes, in their on-chain order (the borsh tag is the index)."""

PAYLOADS: tuple[str, ...] = (
    "transfer",
    "register_model",
    "update_model",
    "register_node",
    "update_node",
    "bond",
    "unbond",
    "withdraw",
    "escrow_deposit",
    "escrow_withdraw",
    "submit_receipts",
    "set_program",
    "reveal_inputs",
    "report_audits",
    "set_zk_key",
    "submit_proofs",
    "register_enclave",
    "report_equivocation",
)
"""Transaction payload kinds, in the declaration order of ``Payload`` (the borsh tag)."""


class Writer:
    """An append-only borsh writer."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def to_bytes(self) -> bytes:
        """Everything written so far."""
        return bytes(self._buf)

    def u8(self, v: int) -> "Writer":
        """A ``u8``."""
        self._buf += struct.pack("<B", v)
        return self

    def u16(self, v: int) -> "Writer":
        """A ``u16``."""
        self._buf += struct.pack("<H", v)
        return self

    def u32(self, v: int) -> "Writer":
        """A ``u32``."""
        self._buf += struct.pack("<I", v)
        return self

    def u64(self, v: int) -> "Writer":
        """A ``u64``."""
        if not 0 <= v < 1 << 64:
            raise ValueError(f"{v} does not fit in a u64")
        self._buf += struct.pack("<Q", v)
        return self

    def fixed(self, data: bytes, n: int) -> "Writer":
        """A fixed-size byte array of length ``n``."""
        if len(data) != n:
            raise ValueError(f"expected {n} bytes, got {len(data)}")
        self._buf += data
        return self

    def var_bytes(self, data: bytes) -> "Writer":
        """A ``Vec<u8>``."""
        self.u32(len(data))
        self._buf += data
        return self

    def string(self, s: str) -> "Writer":
        """A ``String``."""
        return self.var_bytes(s.encode("utf-8"))


def mode_index(mode: str) -> int:
    """The borsh tag of a mode name."""
    try:
        return MODES.index(mode)
    except ValueError:
        raise ValueError(f"unknown mode '{mode}'; use one of {', '.join(MODES)}") from None


def _hex(value: str, n: int, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{what} '{value}' is not hex") from None
    if len(raw) != n:
        raise ValueError(f"{what} must be {n} bytes ({2 * n} hex digits), got {len(raw)}")
    return raw


def ticket_bytes(t: Mapping[str, Any]) -> bytes:
    """Borsh bytes of a ticket given in its JSON form (addresses bech32m, hashes hex)."""
    w = Writer()
    w.fixed(decode_address(t["caller"]), 20)
    w.fixed(_hex(t["model"], 32, "model"), 32)
    w.fixed(decode_address(t["node"]), 20)
    w.fixed(_hex(t["input_hash"], 32, "input_hash"), 32)
    w.u8(mode_index(t["mode"]))
    w.u64(int(t["price_cap"]))
    w.u64(int(t["nonce"]))
    w.u64(int(t["expiry_ms"]))
    return w.to_bytes()


def receipt_bytes(r: Mapping[str, Any]) -> bytes:
    """Borsh bytes of a receipt given in its JSON form."""
    w = Writer()
    w.fixed(_hex(r["ticket"], 32, "ticket"), 32)
    w.fixed(_hex(r["output_hash"], 32, "output_hash"), 32)
    w.u64(int(r["price"]))
    w.u64(int(r["time_ms"]))
    return w.to_bytes()


def _hardware(w: Writer, hw: Mapping[str, Any]) -> None:
    w.string(hw["gpu"])
    w.u32(int(hw["watts"]))
    w.u64(int(hw["cost_usd_cents"]))
    w.u32(int(hw["capacity"]))


def _models(w: Writer, models: Sequence[str]) -> None:
    w.u32(len(models))
    for m in models:
        w.fixed(_hex(m, 32, "model"), 32)


def _prices(w: Writer, prices: Sequence[Mapping[str, Any]]) -> None:
    w.u32(len(prices))
    for p in prices:
        w.u8(mode_index(p["mode"]))
        w.u64(int(p["price"]))


def payload_bytes(p: Mapping[str, Any]) -> bytes:
    """Borsh bytes of a transaction payload in its JSON form (``{"type": ..., fields}``).

    Supports the payloads a client or operator script sends: ``transfer``, ``update_node``,
    ``bond``, ``unbond``, ``withdraw``, ``escrow_deposit`` and ``escrow_withdraw``.
    """
    kind = p["type"]
    if kind not in PAYLOADS:
        raise ValueError(f"unknown payload type '{kind}'")
    w = Writer().u8(PAYLOADS.index(kind))
    if kind == "transfer":
        w.fixed(decode_address(p["to"]), 20).u64(int(p["amount"]))
    elif kind == "update_node":
        w.string(p["endpoint"])
        _hardware(w, p["hardware"])
        _models(w, p["models"])
        _prices(w, p["prices"])
    elif kind in ("bond", "unbond", "escrow_deposit", "escrow_withdraw"):
        w.u64(int(p["amount"]))
    elif kind == "withdraw":
        pass
    else:
        raise ValueError(f"the SDK does not encode '{kind}' payloads; use the `verity` CLI")
    return w.to_bytes()


def transaction_bytes(signer: bytes, nonce: int, fee: int, payload: Mapping[str, Any]) -> bytes:
    """Borsh bytes of an unsigned transaction (what is signed and hashed)."""
    w = Writer().fixed(signer, 32).u64(nonce).u64(fee)
    return w.to_bytes() + payload_bytes(payload)
