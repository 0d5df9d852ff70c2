"""The synchronous client: :class:`Client`."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import httpx

from . import _common as c
from .errors import ApiError, NotFound, Timeout, TransactionFailed, VerityError
from .inputs import InputLike, check_length, prepare_input
from .keys import Key
from .receipts import check_result
from .types import CallResult, CallStatus, Model, Quote, TxResult


class Client:
    """A caller's and operator's view of a Verity network through one gateway.

    ``url`` is the gateway (e.g. ``http://127.0.0.1:7072``); ``key`` a :class:`Key` or the path
    of a key file (may be ``None`` for read-only use). The ledger URL and chain id are read from
    the gateway's ``GET /health`` unless given; a caller that does not trust its gateway passes
    both, since receipts are checked against node keys read from the ledger.
    """

    def __init__(
        self,
        url: str,
        key: Union[Key, str, Path, None],
        *,
        ledger_url: Optional[str] = None,
        chain_id: Optional[str] = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.key: Optional[Key] = c.load_key(key) if key is not None else None
        self._ledger_url = ledger_url.rstrip("/") if ledger_url else None
        self._chain_id = chain_id
        self._models: list[Model] = []
        self._http = httpx.Client(timeout=timeout, trust_env=False)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def _request(self, method: str, url: str, json: Any = None) -> Any:
        try:
            response = self._http.request(method, url, json=json)
        except httpx.HTTPError as e:
            raise c.network_error(url, e) from None
        return c.check_response(response)

    def _gw(self, path: str) -> Any:
        return self._request("GET", self.url + path)

    def _ledger(self, path: str) -> Any:
        return self._request("GET", self.ledger_url + path)

    def _need_key(self) -> Key:
        if self.key is None:
            raise VerityError("this needs a signing key; pass key= to the client", code="no_key")
        return self.key

    def _discover(self) -> None:
        try:
            response = self._http.get(self.url + "/health")
        except httpx.HTTPError as e:
            raise c.network_error(self.url, e) from None
        try:
            health = response.json()
        except ValueError:
            health = {}
        if self._ledger_url is None:
            if not health.get("ledger_url"):
                c.check_response(response)
                raise ApiError(f"{self.url}/health names no ledger_url; pass ledger_url=", code="bad_response")
            self._ledger_url = str(health["ledger_url"]).rstrip("/")
        if self._chain_id is None:
            if not health.get("chain_id"):
                raise ApiError(
                    f"the gateway at {self.url} has not read the ledger yet ({health.get('last_error')}); "
                    "wait for it to become ready or pass chain_id=",
                    code="ledger_unavailable",
                    status=response.status_code,
                )
            self._chain_id = str(health["chain_id"])

    @property
    def ledger_url(self) -> str:
        """The validator API, as given or as the gateway reports it."""
        if self._ledger_url is None:
            self._discover()
        assert self._ledger_url is not None
        return self._ledger_url

    @property
    def chain_id(self) -> str:
        """The chain id, as given or as the gateway reports it."""
        if self._chain_id is None:
            self._discover()
        assert self._chain_id is not None
        return self._chain_id

    def get_ledger_url(self) -> str:
        """The validator API (same as :attr:`ledger_url`; mirrors :class:`AsyncClient`)."""
        return self.ledger_url

    def get_chain_id(self) -> str:
        """The chain id (same as :attr:`chain_id`; mirrors :class:`AsyncClient`)."""
        return self.chain_id

    def health(self) -> dict[str, Any]:
        """The gateway's ``GET /health`` (raises :class:`ApiError` when it is not ready)."""
        return dict(self._gw("/health"))

    def models(self) -> list[Model]:
        """Registered models and who serves them, as the gateway lists them."""
        self._models = [Model.from_json(m) for m in self._gw("/v1/models")]
        return list(self._models)

    def model(self, model: str) -> Model:
        """The model with this name or 64-hex id; raises :class:`NotFound` if unregistered."""
        found = c.find_model(self._models, model)
        if found is None:
            found = c.find_model(self.models(), model)
        if found is None:
            raise c.unknown_model(model, self._models)
        return found

    def _model_id(self, model: str) -> str:
        return model.lower() if c.is_model_id(model) else self.model(model).id

    def quote(self, model: str, mode: str = "signed", max_price: Optional[int] = None) -> Quote:
        """Who can serve a call of ``model`` in ``mode`` within ``max_price``, and at what price."""
        c.check_mode(mode)
        return Quote.from_json(self._gw(c.quote_path(self._model_id(model), mode, max_price)))

    def call(
        self, model: str, input: InputLike, mode: str = "signed", max_price: Optional[int] = None
    ) -> CallResult:
        """Pay for one inference and return its answer with a verified receipt.

        ``input`` is a numpy array, a PIL image, the path of a PNG/JPEG/``.json``/``.npy`` file,
        image file bytes or a list of floats. Tickets are capped at ``max_price`` (or each
        node's quoted price). The receipt is checked against the node key on the ledger before
        returning (``verified=True``); a bad one raises :class:`ReceiptInvalid`.
        """
        key = self._need_key()
        c.check_mode(mode)
        prepared = prepare_input(input)
        m = self.model(model)
        check_length(prepared, m.input_len)
        quote = self.quote(m.id, mode, max_price)
        tickets = c.sign_tickets(quote, key, self.chain_id, prepared.input_hash, max_price)
        body = self._request("POST", self.url + "/v1/call", c.call_body(key, prepared.to_json(), tickets))
        result = c.parse_call(body, tickets)
        self.verify_receipt(result)
        return dataclasses.replace(result, verified=True)

    def node_key(self, node: str, mode: str) -> bytes:
        """The key the ledger holds for ``node``'s receipts in ``mode``."""
        account = self._ledger(f"/v1/accounts/{node}")
        detail = self._ledger(f"/v1/nodes/{node}") if mode == "tee" else None
        return c.node_key_from(mode, account, detail, node)

    def verify_receipt(self, result: CallResult) -> None:
        """Raise :class:`ReceiptInvalid` unless ``result`` is a valid, node-signed answer.

        The node's key is read from the ledger, not the gateway.
        """
        check_result(result, self.node_key(result.node, result.mode), self.chain_id)

    def call_status(self, call_id: Union[str, CallResult]) -> CallStatus:
        """Where a call is in its life."""
        cid = call_id.call_id if isinstance(call_id, CallResult) else call_id
        return CallStatus.from_json(self._gw(f"/v1/calls/{cid}"))

    def wait_settled(self, call_id: Union[str, CallResult], timeout: float = 120.0) -> CallStatus:
        """Poll until the call settles and return its status.

        Raises :class:`CallRefunded` if it was refunded instead (the node was at fault), and
        :class:`Timeout` if it has not settled within ``timeout`` seconds.
        """
        cid = call_id.call_id if isinstance(call_id, CallResult) else call_id
        deadline = time.monotonic() + timeout
        while True:
            status = self.call_status(cid)
            if status.state == c.SETTLED:
                return status
            if status.state == c.REFUNDED:
                raise c.refunded_error(cid, status.call)
            if time.monotonic() >= deadline:
                raise Timeout(
                    f"call {cid} is still {status.state} after {timeout:g} s; wait longer "
                    "(settlement follows the challenge window) or check the node is submitting receipts",
                    code="settlement_timeout",
                )
            time.sleep(min(c.POLL_S, max(0.0, deadline - time.monotonic())))

    def exposure(self, model: str, mode: str = "signed", max_price: Optional[int] = None) -> dict[str, Any]:
        """How the gateway's router shares calls of ``model`` in ``mode`` among nodes."""
        c.check_mode(mode)
        cap = f"&max_price={int(max_price)}" if max_price is not None else ""
        return dict(self._gw(f"/v1/models/{self._model_id(model)}/exposure?mode={mode}{cap}"))

    def earnings(self, node: str, days: int = 7) -> dict[str, Any]:
        """A node's earnings report over the last ``days`` days (the gateway's ``NodeReport``)."""
        return dict(self._gw(f"/v1/nodes/{node}/earnings?days={int(days)}"))

    def nodes(self) -> list[dict[str, Any]]:
        """Every registered provider node, from the ledger."""
        body = self._ledger("/v1/nodes")
        return list(body["items"] if isinstance(body, dict) else body)

    def node(self, address: str) -> dict[str, Any]:
        """One provider node, from the ledger."""
        return dict(self._ledger(f"/v1/nodes/{address}"))

    def account(self, address: Optional[str] = None) -> dict[str, Any]:
        """An account (this client's own by default), from the ledger."""
        addr = address or self._need_key().address
        return dict(self._ledger(f"/v1/accounts/{addr}"))

    def status(self) -> dict[str, Any]:
        """The ledger's ``GET /v1/status``."""
        return dict(self._ledger("/v1/status"))

    def params(self) -> dict[str, Any]:
        """The ledger's ``GET /v1/params`` (protocol parameters under ``params``)."""
        return dict(self._ledger("/v1/params"))

    def submit(self, payload: Mapping[str, Any], calls: int = 0) -> str:
        """Sign and submit a transaction with ``payload`` (its JSON form); return its hash.

        The nonce is the account's ``next_nonce`` and the fee the ledger's minimum.
        Refusals raise :class:`TransactionFailed`.
        """
        key = self._need_key()
        nonce = int(self.account(key.address)["next_nonce"])
        fee = c.tx_fee(self.params(), calls)
        raw, tx_hash = c.signed_tx(key, self.chain_id, nonce, fee, payload)
        try:
            answer = self._request("POST", self.ledger_url + "/v1/txs", {"tx": raw})
        except ApiError as e:
            raise c.as_tx_failure(e) from None
        return str(answer.get("hash", tx_hash))

    def wait_tx(self, tx_hash: str, timeout: float = 30.0) -> TxResult:
        """Wait until the transaction is in a finalized block; raise unless it applied."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                view = self._ledger(f"/v1/txs/{tx_hash}")
            except NotFound:
                view = {"state": "pending"}
            if view.get("state") == "included":
                result = TxResult.from_json(view)
                if result.status != "applied":
                    raise TransactionFailed(
                        f"transaction {tx_hash} was {result.status}: {result.message}",
                        code=result.code or result.status,
                    )
                return result
            if time.monotonic() >= deadline:
                raise Timeout(f"transaction {tx_hash} not included after {timeout:g} s", code="tx_timeout")
            time.sleep(c.POLL_S)

    def send(self, payload: Mapping[str, Any], timeout: float = 30.0) -> TxResult:
        """Submit a transaction and wait until it applied."""
        return self.wait_tx(self.submit(payload), timeout)

    def transfer(self, to: str, amount: int) -> TxResult:
        """Send ``amount`` base units to ``to``."""
        return self.send({"type": "transfer", "to": to, "amount": int(amount)})

    def escrow_deposit(self, amount: int) -> TxResult:
        """Move ``amount`` from balance into call escrow."""
        return self.send({"type": "escrow_deposit", "amount": int(amount)})

    def escrow_withdraw(self, amount: int) -> TxResult:
        """Start withdrawing ``amount`` from call escrow."""
        return self.send({"type": "escrow_withdraw", "amount": int(amount)})

    def update_node_prices(self, prices: Mapping[str, int]) -> TxResult:
        """Change this key's node prices for some modes, keeping everything else.

        Signs an UpdateNode transaction and waits until it applied; raises
        :class:`TransactionFailed` if it did not, or if the prices on the ledger differ after.
        """
        key = self._need_key()
        node = self.node(key.address)
        result = self.send(c.update_node_payload(node, prices))
        after = {p["mode"]: int(p["price"]) for p in self.node(key.address)["prices"]}
        for mode, price in prices.items():
            if after.get(mode) != int(price):
                raise TransactionFailed(
                    f"UpdateNode applied but the ledger lists {mode} at {after.get(mode)}, not {price}",
                    code="update_not_applied",
                )
        return result
