"""Frozen dataclasses for the API's answers.

Field names follow the JSON of the gateway and ledger APIs. Amounts are integers in base units,
addresses ``verity1…`` strings, hashes and keys lowercase hex strings, times milliseconds since
the Unix epoch.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from . import crypto, encoding


@dataclass(frozen=True)
class Price:
    """How a call's price divides, as settlement pays it."""

    price: int
    node: int
    royalty: int
    verifier: int
    protocol: int
    mode_surcharge: int

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Price":
        """Parse the API's JSON."""
        return cls(**{k: int(d[k]) for k in ("price", "node", "royalty", "verifier", "protocol", "mode_surcharge")})


@dataclass(frozen=True)
class Candidate:
    """A node able to serve a quoted call."""

    node: str
    endpoint: str
    price: Price

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Candidate":
        """Parse the API's JSON."""
        return cls(node=d["node"], endpoint=d["endpoint"], price=Price.from_json(d["price"]))


@dataclass(frozen=True)
class Quote:
    """Who can serve a call of ``model`` in ``mode``, in the order the gateway will try them."""

    model: str
    mode: str
    royalty_bps: int
    chain_time_ms: int
    max_ticket_lifetime_ms: int
    candidates: tuple[Candidate, ...]

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Quote":
        """Parse the API's JSON."""
        return cls(
            model=d["model"],
            mode=d["mode"],
            royalty_bps=int(d["royalty_bps"]),
            chain_time_ms=int(d["chain_time_ms"]),
            max_ticket_lifetime_ms=int(d["max_ticket_lifetime_ms"]),
            candidates=tuple(Candidate.from_json(c) for c in d["candidates"]),
        )

    @property
    def cheapest(self) -> int:
        """The lowest candidate price."""
        return min(c.price.price for c in self.candidates)


@dataclass(frozen=True)
class Ticket:
    """A caller's signed promise to pay ``node`` up to ``price_cap`` for one call."""

    caller: str
    model: str
    node: str
    input_hash: str
    mode: str
    price_cap: int
    nonce: int
    expiry_ms: int

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form."""
        return {
            "caller": self.caller,
            "model": self.model,
            "node": self.node,
            "input_hash": self.input_hash,
            "mode": self.mode,
            "price_cap": self.price_cap,
            "nonce": self.nonce,
            "expiry_ms": self.expiry_ms,
        }

    def signing_bytes(self) -> bytes:
        """The borsh bytes that are signed."""
        return encoding.ticket_bytes(self.to_json())

    @property
    def id(self) -> str:
        """The call id: SHA-256 of the borsh bytes, hex."""
        return crypto.sha256(self.signing_bytes()).hex()


@dataclass(frozen=True)
class Receipt:
    """A node's signed statement that it answered call ``ticket`` with ``output_hash``."""

    ticket: str
    output_hash: str
    price: int
    time_ms: int

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Receipt":
        """Parse the API's JSON."""
        return cls(ticket=d["ticket"], output_hash=d["output_hash"], price=int(d["price"]), time_ms=int(d["time_ms"]))

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form."""
        return {"ticket": self.ticket, "output_hash": self.output_hash, "price": self.price, "time_ms": self.time_ms}

    def signing_bytes(self) -> bytes:
        """The borsh bytes the node signs."""
        return encoding.receipt_bytes(self.to_json())


@dataclass(frozen=True)
class Output:
    """A model's answer: ``path`` (integer or float executor), ``shape`` and ``values``.

    For the integer path the values are fixed-point ``i32`` with ``frac_bits`` fraction bits.
    """

    path: str
    shape: tuple[int, ...]
    dtype: str
    values: tuple[float, ...]
    frac_bits: Optional[int] = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Output":
        """Parse the API's JSON."""
        v = d["values"]
        dtype = v["dtype"]
        if dtype == "i32":
            return cls(d["path"], tuple(int(x) for x in d["shape"]), dtype, tuple(int(x) for x in v["values"]), int(v["frac_bits"]))
        return cls(d["path"], tuple(int(x) for x in d["shape"]), dtype, tuple(float(x) for x in v["values"]))

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form."""
        values: dict[str, Any] = {"dtype": self.dtype, "values": list(self.values)}
        if self.dtype == "i32":
            values["frac_bits"] = self.frac_bits
        return {"path": self.path, "shape": list(self.shape), "values": values}

    def canonical_bytes(self) -> bytes:
        """The canonical bytes the receipt's ``output_hash`` commits to."""
        tag = {"integer": 0, "float": 1}[self.path]
        out = bytearray([tag])
        out += struct.pack("<I", len(self.shape))
        for dim in self.shape:
            out += struct.pack("<I", dim)
        if self.dtype == "i32":
            out += struct.pack("<I", self.frac_bits or 0)
            out += struct.pack(f"<{len(self.values)}i", *(int(x) for x in self.values))
        else:
            out += struct.pack(f"<{len(self.values)}f", *self.values)
        return bytes(out)

    def hash(self) -> str:
        """The output hash, hex."""
        return crypto.output_hash(self.canonical_bytes()).hex()

    def as_floats(self) -> list[float]:
        """The values as floats (fixed-point values divided by their scale)."""
        if self.dtype == "i32":
            scale = float(1 << (self.frac_bits or 0))
            return [v / scale for v in self.values]
        return [float(v) for v in self.values]

    def argmax(self) -> Optional[int]:
        """Index of the largest value (first on ties): a classifier's predicted class."""
        scores = self.as_floats()
        if not scores:
            return None
        return max(range(len(scores)), key=lambda i: (scores[i], -i))


@dataclass(frozen=True)
class FailedAttempt:
    """A node the gateway tried and gave up on before one answered (not charged)."""

    node: str
    code: str
    message: str


@dataclass(frozen=True)
class CallResult:
    """A served call: the node's answer, its receipt, and the ticket it answered."""

    call_id: str
    node: str
    output: Output
    label: Optional[int]
    receipt: Receipt
    receipt_signature: str
    compute_us: int
    price: Price
    failed_attempts: tuple[FailedAttempt, ...]
    status_url: str
    ticket: Ticket
    verified: bool = False

    @property
    def mode(self) -> str:
        """The verification mode of the call."""
        return self.ticket.mode


@dataclass(frozen=True)
class CallStatus:
    """Where a call is in its life: ``awaiting_submission``, ``pending``, ``under_audit``,
    ``awaiting_proof``, ``settled`` or ``refunded``; ``call`` is the ledger's record, once
    accepted."""

    call_id: str
    state: str
    call: Optional[dict[str, Any]]

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "CallStatus":
        """Parse the API's JSON."""
        return cls(call_id=d["call_id"], state=d["state"], call=d.get("call"))

    @property
    def price(self) -> Optional[int]:
        """The price the ledger charged, once recorded."""
        return int(self.call["price"]) if self.call else None


@dataclass(frozen=True)
class ModeOffer:
    """Who serves a model in one mode, and their price range."""

    mode: str
    nodes: int
    min_price: Optional[int]
    max_price: Optional[int]


@dataclass(frozen=True)
class Model:
    """A registered model as a gateway lists it."""

    id: str
    name: str
    owner: str
    royalty_bps: int
    input_shape: tuple[int, ...]
    input_dtype: str
    modes: tuple[ModeOffer, ...]
    independent_calls: int
    exploring: bool

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Model":
        """Parse the API's JSON."""
        return cls(
            id=d["id"],
            name=d["name"],
            owner=d["owner"],
            royalty_bps=int(d["royalty_bps"]),
            input_shape=tuple(int(x) for x in d["input"]["shape"]),
            input_dtype=d["input"]["dtype"],
            modes=tuple(ModeOffer(m["mode"], int(m["nodes"]), m.get("min_price"), m.get("max_price")) for m in d["modes"]),
            independent_calls=int(d.get("independent_calls", 0)),
            exploring=bool(d.get("exploring", False)),
        )

    @property
    def input_len(self) -> int:
        """Number of values in one input tensor."""
        n = 1
        for d in self.input_shape:
            n *= d
        return n


@dataclass(frozen=True)
class TxResult:
    """A transaction executed in a finalized block."""

    hash: str
    height: int
    status: str
    kind: Optional[str]
    fee_paid: int
    code: Optional[str] = None
    message: Optional[str] = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "TxResult":
        """Parse the API's JSON (``GET /v1/txs/{hash}`` once included)."""
        return cls(
            hash=d["hash"],
            height=int(d["height"]),
            status=d["status"],
            kind=d.get("kind"),
            fee_paid=int(d.get("fee_paid", 0)),
            code=d.get("code"),
            message=d.get("message"),
            raw=dict(d),
        )
