"""Logic shared by the sync and async clients: request building and answer parsing."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import httpx

from . import crypto, encoding
from .errors import ApiError, CallRefunded, NetworkError, NotFound, Timeout, TransactionFailed, VerityError, error_for
from .keys import Key
from .types import CallResult, FailedAttempt, Model, Output, Price, Quote, Receipt, Ticket

TICKET_LIFETIME_MS = 60_000
POLL_S = 0.25
SETTLED = "settled"
REFUNDED = "refunded"


def load_key(key: Union[Key, str, Path]) -> Key:
    """A :class:`Key`, or the key read from a key file path."""
    if isinstance(key, Key):
        return key
    return Key.load(key)


def network_error(url: str, e: Exception) -> VerityError:
    """The SDK error for an httpx transport failure."""
    if isinstance(e, httpx.TimeoutException):
        return Timeout(f"{url} did not answer in time ({type(e).__name__})", code="request_timeout")
    return NetworkError(
        f"cannot reach {url} ({e}); is `verity devnet` running and the URL right?",
        code="unreachable",
    )


def check_response(response: httpx.Response) -> Any:
    """The JSON body of a successful answer, or the typed error of a failed one."""
    if response.status_code < 400:
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                f"{response.request.url} answered non-JSON: {response.text[:200]}",
                code="bad_response",
                status=response.status_code,
            ) from None
    try:
        body = response.json()
        code, message = str(body["code"]), str(body["message"])
    except (ValueError, KeyError, TypeError):
        code = f"http_{response.status_code}"
        message = f"{response.request.url} answered HTTP {response.status_code}: {response.text[:200]}"
    raise error_for(code, message, response.status_code)


def is_model_id(model: str) -> bool:
    """Whether ``model`` is a 64-hex model id rather than a name."""
    return len(model) == 64 and all(c in "0123456789abcdefABCDEF" for c in model)


def find_model(models: Sequence[Model], model: str) -> Optional[Model]:
    """The model with this id or name, if listed; raises BadInput when a name is ambiguous."""
    if is_model_id(model):
        return next((m for m in models if m.id == model.lower()), None)
    named = [m for m in models if m.name == model]
    if len(named) > 1:
        raise error_for("invalid_parameter", f"several models are named '{model}'; pass its 64-hex id", None)
    return named[0] if named else None


def unknown_model(model: str, models: Sequence[Model]) -> NotFound:
    """The error for a model that is not registered."""
    names = ", ".join(sorted(m.name for m in models)) or "none"
    return NotFound(
        f"no registered model is named or has id '{model}'; registered models: {names}",
        code="unknown_model",
    )


def check_mode(mode: str) -> str:
    """A mode name, validated."""
    if mode not in encoding.MODES:
        raise error_for("invalid_parameter", f"unknown mode '{mode}'; use one of {', '.join(encoding.MODES)}", None)
    return mode


def quote_path(model_id: str, mode: str, max_price: Optional[int]) -> str:
    """The gateway path of a quote."""
    cap = f"&max_price={int(max_price)}" if max_price is not None else ""
    return f"/v1/quote?model={model_id}&mode={mode}{cap}"


def sign_tickets(
    quote: Quote, key: Key, chain_id: str, input_hash: bytes, max_price: Optional[int]
) -> list[tuple[Ticket, str]]:
    """One signed ticket per candidate, all with one random nonce (the ledger pays one)."""
    nonce = secrets.randbits(64)
    expiry = quote.chain_time_ms + min(TICKET_LIFETIME_MS, quote.max_ticket_lifetime_ms)
    ns = crypto.namespace(chain_id, "ticket")
    out = []
    for c in quote.candidates:
        t = Ticket(
            caller=key.address,
            model=quote.model,
            node=c.node,
            input_hash=input_hash.hex(),
            mode=quote.mode,
            price_cap=int(max_price) if max_price is not None else c.price.price,
            nonce=nonce,
            expiry_ms=expiry,
        )
        out.append((t, key.sign(ns, t.signing_bytes()).hex()))
    return out


def call_body(key: Key, input_json: Mapping[str, str], tickets: Sequence[tuple[Ticket, str]]) -> dict[str, Any]:
    """The body of ``POST /v1/call``."""
    return {
        "caller_key": key.public_key.hex(),
        "input": dict(input_json),
        "tickets": [{"ticket": t.to_json(), "signature": sig} for t, sig in tickets],
    }


def parse_call(body: Mapping[str, Any], tickets: Sequence[tuple[Ticket, str]]) -> CallResult:
    """A :class:`CallResult` from the gateway's answer and the tickets sent."""
    from .errors import ReceiptInvalid

    r = body["result"]
    ticket = next((t for t, _ in tickets if t.node == r["node"]), None)
    if ticket is None:
        raise ReceiptInvalid(
            f"the answer comes from node {r['node']}, which none of the signed tickets names",
            code="node_mismatch",
        )
    return CallResult(
        call_id=r["call_id"],
        node=r["node"],
        output=Output.from_json(r["output"]),
        label=r.get("label"),
        receipt=Receipt.from_json(r["receipt"]),
        receipt_signature=r["receipt_signature"],
        compute_us=int(r.get("compute_us", 0)),
        price=Price.from_json(body["price"]),
        failed_attempts=tuple(FailedAttempt(a["node"], a["code"], a["message"]) for a in body.get("failed_attempts", [])),
        status_url=body.get("status_url", ""),
        ticket=ticket,
    )


def node_key_from(mode: str, account: Mapping[str, Any], node: Optional[Mapping[str, Any]], address: str) -> bytes:
    """The key the ledger holds for ``address``'s receipts in ``mode``."""
    from .errors import ReceiptInvalid

    if mode == "tee":
        hexkey = (node or {}).get("enclave_key")
        what = "registered enclave key"
    else:
        hexkey = account.get("public_key")
        what = "account public key"
    if not hexkey:
        raise ReceiptInvalid(f"the ledger has no {what} for node {address}", code="no_node_key")
    return bytes.fromhex(hexkey)


def refunded_error(call_id: str, call: Optional[Mapping[str, Any]]) -> CallRefunded:
    """The error raised when a call waited on was refunded."""
    status = (call or {}).get("status", {})
    offence = status.get("offence", "unknown offence") if isinstance(status, dict) else status
    return CallRefunded(
        f"call {call_id} was refunded to the caller, not settled: the node was at fault ({offence}); "
        "the price went back to your escrow",
        call=dict(call) if call else None,
    )


def tx_fee(params: Mapping[str, Any], calls: int = 0) -> int:
    """The fee of a transaction carrying ``calls`` receipts."""
    p = params["params"]
    return int(p["base_fee"]) + int(p["fee_per_call"]) * calls


def signed_tx(key: Key, chain_id: str, nonce: int, fee: int, payload: Mapping[str, Any]) -> tuple[str, str]:
    """``(hex of the SignedTransaction, tx hash)``."""
    unsigned = encoding.transaction_bytes(key.public_key, nonce, fee, payload)
    sig = key.sign(crypto.namespace(chain_id, "tx"), unsigned)
    return (unsigned + sig).hex(), crypto.sha256(unsigned).hex()


def as_tx_failure(e: ApiError) -> TransactionFailed:
    """A submission refusal as :class:`TransactionFailed`."""
    if isinstance(e, TransactionFailed):
        return e
    return TransactionFailed(e.message, code=e.code, status=e.status)


def update_node_payload(node: Mapping[str, Any], prices: Mapping[str, int]) -> dict[str, Any]:
    """An ``update_node`` payload keeping ``node``'s endpoint, hardware and models, with its
    prices changed for the modes in ``prices`` (other modes keep theirs)."""
    for mode, price in prices.items():
        check_mode(mode)
        if int(price) <= 0:
            raise error_for("invalid_parameter", f"price for mode {mode} must be positive, got {price}", None)
    merged = {p["mode"]: int(p["price"]) for p in node["prices"]}
    merged.update({m: int(p) for m, p in prices.items()})
    ordered = [{"mode": m, "price": merged[m]} for m in encoding.MODES if m in merged]
    return {
        "type": "update_node",
        "endpoint": node["endpoint"],
        "hardware": node["hardware"],
        "models": list(node["models"]),
        "prices": ordered,
    }
