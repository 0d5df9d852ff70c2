"""Python SDK for Verity, a network for verifiable AI inference.

>>> from verity import Client
>>> with Client("http://127.0.0.1:7072", ".verity/keys/demo.key") as client:
...     result = client.call("digits-cnn", "digit-3.png")   # receipt verified before returning
...     client.wait_settled(result.call_id)

See :class:`Client` (sync) and :class:`AsyncClient` (asyncio, same methods).
"""

from .aio import AsyncClient
from .client import Client
from .errors import (
    AllNodesFailed,
    ApiError,
    BadInput,
    CallRefunded,
    InsufficientEscrow,
    KeyFileError,
    NetworkError,
    NoNodes,
    NotFound,
    PriceAboveCap,
    ReceiptInvalid,
    Timeout,
    TransactionFailed,
    VerityError,
)
from .inputs import PreparedInput, prepare_input
from .keys import Key
from .receipts import check_result
from .types import (
    CallResult,
    CallStatus,
    Candidate,
    FailedAttempt,
    Model,
    ModeOffer,
    Output,
    Price,
    Quote,
    Receipt,
    Ticket,
    TxResult,
)

__version__ = "0.1.0"

__all__ = [
    "AllNodesFailed",
    "ApiError",
    "AsyncClient",
    "BadInput",
    "CallRefunded",
    "CallResult",
    "CallStatus",
    "Candidate",
    "Client",
    "FailedAttempt",
    "InsufficientEscrow",
    "Key",
    "KeyFileError",
    "Model",
    "ModeOffer",
    "NetworkError",
    "NoNodes",
    "NotFound",
    "Output",
    "PreparedInput",
    "Price",
    "PriceAboveCap",
    "Quote",
    "Receipt",
    "ReceiptInvalid",
    "Ticket",
    "Timeout",
    "TransactionFailed",
    "TxResult",
    "VerityError",
    "check_result",
    "prepare_input",
]
