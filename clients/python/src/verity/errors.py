"""Typed exceptions raised by the SDK.

Every exception derives from :class:`VerityError`. Errors the API answered carry the API's
stable machine-readable ``code``, its ``message`` and the HTTP ``status``; errors found on the
client side (bad input, a forged receipt, a timeout) carry a ``code`` chosen by the SDK and
``status=None``.
"""

from __future__ import annotations

from typing import Any, Optional


class VerityError(Exception):
    """Base class of every error raised by the SDK."""

    def __init__(self, message: str, *, code: str = "error", status: Optional[int] = None) -> None:
        super().__init__(message)
        self.code: str = code
        self.message: str = message
        self.status: Optional[int] = status

    def __str__(self) -> str:
        if self.status is not None:
            return f"{self.message} ({self.code}, HTTP {self.status})"
        return f"{self.message} ({self.code})"


class NetworkError(VerityError):
    """The gateway or ledger could not be reached at all."""


class Timeout(VerityError):
    """Something did not happen within the time allowed (a request, settlement, inclusion)."""


class ApiError(VerityError):
    """The API answered with an error body ``{"code": ..., "message": ...}``."""


class InsufficientEscrow(ApiError):
    """The caller's escrow does not cover the call's price; deposit with an EscrowDeposit tx."""


class PriceAboveCap(ApiError):
    """Every node serving the call charges more than the price cap (``max_price``)."""


class BadInput(ApiError):
    """The input, model id, mode or another request value is unusable as given."""


class NotFound(ApiError):
    """The model, node, call, transaction or route does not exist."""


class NoNodes(ApiError):
    """No bonded, eligible node serves the model in the mode yet."""


class AllNodesFailed(ApiError):
    """The gateway tried every ticket and no node answered (nothing is charged)."""


class TransactionFailed(ApiError):
    """A transaction was refused by the ledger, or was included but did not apply."""


class CallRefunded(VerityError):
    """A call waited on was refunded to the caller instead of settling (the node was at fault).

    ``call`` is the ledger's record of the call, whose status names the offence.
    """

    def __init__(self, message: str, *, call: Optional[dict[str, Any]] = None) -> None:
        super().__init__(message, code="refunded")
        self.call: Optional[dict[str, Any]] = call


class KeyFileError(VerityError):
    """A key file is missing, unreadable, malformed or readable by other users."""


class ReceiptInvalid(VerityError):
    """A node's answer failed the client-side receipt check (the ``code`` names the check)."""


_BY_CODE: dict[str, type[ApiError]] = {}
for _cls, _codes in (
    (InsufficientEscrow, ["insufficient_escrow"]),
    (PriceAboveCap, ["price_above_cap", "price_cap_below_quote", "price_cap_below_price"]),
    (
        BadInput,
        [
            "invalid_input",
            "wrong_shape",
            "wrong_dtype",
            "input_too_large",
            "bad_encoding",
            "non_finite_input",
            "corrupt_image",
            "image_too_large",
            "input_hash_mismatch",
            "zk_needs_tensor",
            "invalid_parameter",
            "missing_parameter",
            "malformed_body",
            "body_too_large",
            "mode_not_supported",
            "mode_not_offered",
            "not_offered",
            "mixed_tickets",
            "no_tickets",
            "too_many_tickets",
            "caller_key_mismatch",
            "bad_ticket_signature",
            "ticket_expired",
            "ticket_expires_too_soon",
            "ticket_lifetime_too_long",
            "duplicate_ticket",
            "nonce_used",
            "wrong_node",
        ],
    ),
    (NotFound, ["not_found", "unknown_model", "unknown_node", "no_such_route", "unknown_caller"]),
    (NoNodes, ["no_nodes", "no_eligible_nodes"]),
    (AllNodesFailed, ["all_nodes_failed"]),
    (
        TransactionFailed,
        [
            "tx_too_large",
            "malformed_tx",
            "invalid_signature",
            "bad_nonce",
            "fee_too_low",
            "insufficient_balance",
            "zero_amount",
        ],
    ),
):
    for _code in _codes:
        _BY_CODE[_code] = _cls


def error_for(code: str, message: str, status: Optional[int]) -> ApiError:
    """The typed exception for an API error answer with ``code``."""
    cls = _BY_CODE.get(code, ApiError)
    return cls(message, code=code, status=status)
