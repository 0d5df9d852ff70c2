"""Client-side check of a node's answer, mirroring the gateway's ``check_answer``.

The node's key comes from the ledger (its account key, or its registered enclave key for
``tee`` calls), never from the gateway, so a lying gateway cannot make a caller accept a forged
answer.
"""

from __future__ import annotations

from . import crypto
from .errors import ReceiptInvalid
from .types import CallResult


def check_result(result: CallResult, node_key: bytes, chain_id: str) -> None:
    """Raise :class:`ReceiptInvalid` unless ``result`` is a valid answer to its ticket.

    Checks, in order: the call id and the receipt's ticket are the ticket's id; the answering
    node is the ticket's node; the output hashes to the receipt's ``output_hash``; the price is
    within the ticket's cap; the receipt is signed by ``node_key`` under the chain's receipt
    namespace.
    """
    ticket = result.ticket
    receipt = result.receipt
    tid = ticket.id
    if result.call_id != tid or receipt.ticket != tid:
        raise ReceiptInvalid(
            f"the answer is for call {result.call_id} (receipt names {receipt.ticket}), "
            f"not this ticket's call {tid}",
            code="call_id_mismatch",
        )
    if result.node != ticket.node:
        raise ReceiptInvalid(
            f"the answer claims to come from node {result.node}, the ticket names {ticket.node}",
            code="node_mismatch",
        )
    try:
        actual = result.output.hash()
    except (KeyError, ValueError, OverflowError) as e:
        raise ReceiptInvalid(f"the output cannot be encoded canonically ({e})", code="output_hash_mismatch") from None
    if actual != receipt.output_hash:
        raise ReceiptInvalid(
            f"the output hashes to {actual} but the receipt commits to {receipt.output_hash}; "
            "the output was altered after the node signed",
            code="output_hash_mismatch",
        )
    if receipt.price > ticket.price_cap:
        raise ReceiptInvalid(
            f"the receipt charges {receipt.price}, above the ticket's cap of {ticket.price_cap}",
            code="price_above_cap",
        )
    try:
        signature = bytes.fromhex(result.receipt_signature)
    except ValueError:
        signature = b""
    if not crypto.verify(node_key, crypto.namespace(chain_id, "receipt"), receipt.signing_bytes(), signature):
        raise ReceiptInvalid(
            f"the receipt signature is not node {ticket.node}'s (key {node_key.hex()} from the "
            f"ledger) over this receipt on chain {chain_id}",
            code="bad_signature",
        )
