"""The async client against the devnet: the same calls, concurrently."""

from __future__ import annotations

import asyncio
import json

import numpy as np

from verity import AsyncClient, BadInput, NetworkError

from conftest import SAMPLES, Devnet


def test_async_calls_verify_and_settle(devnet: Devnet, labels: dict[str, int]) -> None:
    values = json.loads((SAMPLES / "values-3.json").read_text())["values"]

    async def main() -> None:
        async with AsyncClient(devnet.gateway, devnet.demo_key) as client:
            assert await client.get_ledger_url() == devnet.ledger
            models = await client.models()
            assert {m.name for m in models} == {"digits-cnn", "digits-mlp"}
            quote = await client.quote("digits-cnn")
            assert len(quote.candidates) >= 3
            results = await asyncio.gather(
                client.call("digits-cnn", np.array(values)),
                client.call("digits-mlp", SAMPLES / "digit-4.png"),
                client.call("digits-cnn", str(SAMPLES / "digit-8.png")),
            )
            assert [r.label for r in results] == [3, labels["digit-4.png"], labels["digit-8.png"]]
            assert all(r.verified for r in results)
            for r in results:
                await client.verify_receipt(r)
            settled = await asyncio.gather(*(client.wait_settled(r, timeout=120) for r in results))
            assert [s.state for s in settled] == ["settled"] * 3
            assert [s.price for s in settled] == [r.receipt.price for r in results]
            account = await client.account()
            assert account["address"] == client.key.address

    asyncio.run(main())


def test_async_errors(devnet: Devnet) -> None:
    async def main() -> None:
        async with AsyncClient(devnet.gateway, devnet.demo_key) as client:
            try:
                await client.call("digits-cnn", [0.5] * 10)
            except BadInput as e:
                assert "10 values but the model takes 64" in e.message
            else:
                raise AssertionError("a 10-value input was accepted")
        async with AsyncClient("http://127.0.0.1:9", devnet.demo_key) as client:
            try:
                await client.models()
            except NetworkError as e:
                assert "verity devnet" in e.message
            else:
                raise AssertionError("an unreachable gateway answered")

    asyncio.run(main())
