"""Move a node's price toward a target share of a model's traffic.

Each round the bot reads the node's earnings report and the gateway's exposure report for a
model and mode, compares the node's exposure share with ``--target-share`` and moves its price
for the mode one ``--step`` toward the target: down when it gets less traffic than wanted, up
when it gets more, never outside ``--min-price``/``--max-price``. A changed price is published
with an UpdateNode transaction (endpoint, hardware and models unchanged) and confirmed on the
ledger.

    python examples/operator_bot.py --gateway http://127.0.0.1:7072 \\
        --key .verity/keys/node-1.key --model digits-cnn --target-share 0.5 --rounds 3
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from verity import ApiError, Client, VerityError


def decide(price: int, share: float, target: float, tolerance: float, step: int, low: int, high: int) -> tuple[int, str]:
    """The next price and the reason, for a node at ``price`` getting ``share`` of calls."""
    if share < target - tolerance:
        new, why = price - step, f"share {share:.3f} below target {target:.3f}: lower price"
    elif share > target + tolerance:
        new, why = price + step, f"share {share:.3f} above target {target:.3f}: raise price"
    else:
        new, why = price, f"share {share:.3f} within {tolerance:.3f} of target {target:.3f}: keep price"
    clamped = max(low, min(high, new))
    if clamped != new:
        why += f" (held at the {'minimum' if clamped == low else 'maximum'} {clamped})"
    return clamped, why


def earnings_line(client: Client, node: str, days: int) -> str:
    """One line summarizing the node's earnings report, or why it is unavailable."""
    try:
        report: dict[str, Any] = client.earnings(node, days)
    except ApiError as e:
        return f"earnings unavailable ({e.code}): {e.message[:120]}"
    totals = report.get("totals", {})
    return (
        f"earnings over {days} d: calls {totals.get('calls', 0)}, node revenue "
        f"{totals.get('node_revenue_base_units', 0)}, net ${totals.get('net_usd', 0.0):.4f}"
    )


def run(args: argparse.Namespace) -> int:
    """Run the rounds; the process exit status."""
    with Client(args.gateway, args.key) as client:
        me = client.key.address
        model = client.model(args.model)
        for round_no in range(1, args.rounds + 1):
            node = client.node(me)
            prices = {p["mode"]: int(p["price"]) for p in node["prices"]}
            if args.mode not in prices:
                print(f"node {me} has no {args.mode} price; register one first", file=sys.stderr)
                return 1
            exposure = client.exposure(model.id, args.mode)
            share = next((float(n["share"]) for n in exposure["nodes"] if n["node"] == me), 0.0)
            price = prices[args.mode]
            new, why = decide(price, share, args.target_share, args.tolerance, args.step, args.min_price, args.max_price)
            print(f"round {round_no}: {earnings_line(client, me, args.days)}")
            print(f"round {round_no}: {args.mode} price {price}, {why} -> {new}")
            if new != price:
                tx = client.update_node_prices({args.mode: new})
                print(f"round {round_no}: UpdateNode {tx.hash} applied at height {tx.height}; {args.mode} price now {new}")
            if round_no < args.rounds:
                time.sleep(args.interval)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:7072", help="gateway URL")
    parser.add_argument("--key", required=True, help="the node operator's key file (mode 600)")
    parser.add_argument("--model", default="digits-cnn", help="model name or id")
    parser.add_argument("--mode", default="signed", choices=["signed", "audited", "tee", "zk"])
    parser.add_argument("--target-share", type=float, default=0.5, help="wanted exposure share, 0..1")
    parser.add_argument("--tolerance", type=float, default=0.02, help="no change within this of the target")
    parser.add_argument("--step", type=int, default=50, help="price change per round, base units")
    parser.add_argument("--min-price", type=int, required=True, help="never price below this")
    parser.add_argument("--max-price", type=int, required=True, help="never price above this")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between rounds")
    parser.add_argument("--days", type=int, default=7, help="earnings window in days")
    args = parser.parse_args(argv)
    if not 0.0 <= args.target_share <= 1.0:
        parser.error("--target-share must be between 0 and 1")
    if not 0 < args.min_price <= args.max_price:
        parser.error("need 0 < --min-price <= --max-price")
    if args.step <= 0 or args.rounds <= 0:
        parser.error("--step and --rounds must be positive")
    try:
        return run(args)
    except VerityError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
