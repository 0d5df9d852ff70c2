"""Operator helpers: UpdateNode price changes, exposure and earnings."""

from __future__ import annotations

import time

import pytest

from verity import ApiError, BadInput, Client, PriceAboveCap, TransactionFailed

from conftest import Devnet, wait_quoted


def test_update_node_prices_changes_only_the_prices(devnet: Devnet) -> None:
    with Client(devnet.gateway, devnet.node_key(2)) as c:
        me = c.key.address
        before = c.node(me)
        old = {p["mode"]: p["price"] for p in before["prices"]}
        tx = c.update_node_prices({"signed": old["signed"] + 7, "zk": old["zk"] + 11})
        assert tx.status == "applied" and tx.kind == "update_node"
        after = c.node(me)
        new = {p["mode"]: p["price"] for p in after["prices"]}
        assert new == {**old, "signed": old["signed"] + 7, "zk": old["zk"] + 11}
        for field in ("endpoint", "hardware", "models", "stake"):
            assert after[field] == before[field], field
        wait_quoted(c, "digits-cnn", "signed", me, old["signed"] + 7)
        c.update_node_prices({"signed": old["signed"], "zk": old["zk"]})
        assert {p["mode"]: p["price"] for p in c.node(me)["prices"]} == old
        wait_quoted(c, "digits-cnn", "signed", me, old["signed"])
        with pytest.raises(BadInput):
            c.update_node_prices({"signed": 0})


def test_update_node_prices_needs_a_node_key(devnet: Devnet) -> None:
    with Client(devnet.gateway, devnet.demo_key) as c:
        with pytest.raises(ApiError) as e:
            c.update_node_prices({"signed": 1000})
    assert e.value.code in ("not_found", "unknown_node") or isinstance(e.value, TransactionFailed)


def test_exposure_shares_sum_to_one(devnet: Devnet) -> None:
    with Client(devnet.gateway, devnet.demo_key) as c:
        view = c.exposure("digits-cnn", "signed")
        assert view["mode"] == "signed" and view["model"] == c.model("digits-cnn").id
        nodes = {n["operator"] for n in c.nodes()}
        assert {n["node"] for n in view["nodes"]} <= nodes
        assert abs(sum(n["share"] for n in view["nodes"]) - 1.0) < 1e-9


def test_earnings_report_shape(devnet: Devnet) -> None:
    with Client(devnet.gateway, devnet.node_key(1)) as c:
        try:
            report = c.earnings(c.key.address, days=3)
        except ApiError as e:
            if e.code == "no_such_route":
                pytest.xfail(f"the gateway does not serve GET /v1/nodes/{{address}}/earnings yet: {e.message[:80]}")
            raise
    assert report["node"] == c.key.address
    assert report["window"]["days"] == 3
    assert len(report["days"]) == 3
    assert "totals" in report and "node_revenue_base_units" in report["totals"]


@pytest.mark.xfail(
    strict=False,
    reason="the running provider enforces the prices it started with (crates/provider checks.rs uses "
    "its config prices), so after UpdateNode lowers a price on the ledger it refuses tickets capped "
    "at the new price with price_cap_below_price",
)
def test_a_lowered_price_is_served_at_the_new_price(devnet: Devnet) -> None:
    with Client(devnet.gateway, devnet.node_key(2)) as node, Client(devnet.gateway, devnet.demo_key) as caller:
        me = node.key.address
        old = {p["mode"]: p["price"] for p in node.node(me)["prices"]}
        cheapest = caller.quote("digits-mlp", "signed").cheapest
        new = cheapest - 100
        node.update_node_prices({"signed": new})
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    if [c.node for c in caller.quote("digits-mlp", "signed", max_price=new).candidates] == [me]:
                        break
                except PriceAboveCap:
                    pass
                assert time.monotonic() < deadline, "the gateway never quoted the new price"
                time.sleep(0.25)
            result = caller.call("digits-mlp", [0.0] * 64, max_price=new)
            assert result.node == me and result.receipt.price == new
        finally:
            node.update_node_prices({"signed": old["signed"]})
            wait_quoted(caller, "digits-mlp", "signed", me, old["signed"])
