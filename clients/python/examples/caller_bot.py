"""Classify every image in a folder without spending more than a budget.

For each file in the folder, in name order, the bot
asks the gateway for a quote capped at what is left of the budget and signs its tickets with
that cap, so the ledger itself enforces the budget. Files that are not PNG/JPEG images, ``.json``
values or ``.npy`` arrays are skipped with the reason; when no node serves the next call within
what is left, it stops. Every receipt is checked against the node's key on the ledger before the
answer is used. At the end it waits for every call to settle and prints the total spent.

    python examples/caller_bot.py --gateway http://127.0.0.1:7072 \\
        --key .verity/keys/demo.key --folder models/digits/samples --budget 10000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from verity import BadInput, CallResult, Client, PriceAboveCap, VerityError, prepare_input


def inputs_in(folder: Path) -> list[Path]:
    """The regular files in ``folder``, in name order."""
    return sorted(p for p in folder.iterdir() if p.is_file())


def run(args: argparse.Namespace) -> int:
    """Classify, settle and report; the process exit status."""
    files = inputs_in(Path(args.folder))
    if not files:
        print(f"no files in {args.folder}", file=sys.stderr)
        return 2
    results: list[CallResult] = []
    committed = 0
    with Client(args.gateway, args.key) as client:
        for path in files:
            left = args.budget - committed
            if left <= 0:
                print(f"stop: budget spent, {path.name} and later files not classified")
                break
            try:
                prepared = prepare_input(path)
            except BadInput as e:
                print(f"skip: {path.name}: {e.message}")
                continue
            try:
                quote = client.quote(args.model, args.mode, max_price=left)
            except PriceAboveCap as e:
                print(f"stop: {path.name} would exceed the budget ({left} left): {e.message}")
                break
            cap = quote.cheapest if args.cheapest else left
            try:
                result = client.call(args.model, prepared, args.mode, max_price=cap)
            except BadInput as e:
                print(f"skip: {path.name}: {e.message}")
                continue
            committed += result.receipt.price
            results.append(result)
            print(f"{path.name}: label {result.label} price {result.receipt.price} node {result.node} receipt verified")
        spent = 0
        unsettled = 0
        for result in results:
            try:
                status = client.wait_settled(result, timeout=args.settle_timeout)
                spent += status.price or 0
                print(f"settled {result.call_id[:16]} price {status.price}")
            except VerityError as e:
                unsettled += 1
                print(f"not settled {result.call_id[:16]}: {e}")
    print(f"calls {len(results)} of {len(files)}; total spent {spent} of budget {args.budget}")
    if spent > args.budget:
        print("error: spent more than the budget", file=sys.stderr)
        return 1
    if unsettled:
        print(f"error: {unsettled} calls did not settle", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:7072", help="gateway URL")
    parser.add_argument("--key", required=True, help="caller key file (mode 600)")
    parser.add_argument("--folder", required=True, help="folder of images / .json / .npy inputs")
    parser.add_argument("--budget", type=int, required=True, help="most to spend, in base units")
    parser.add_argument("--model", default="digits-cnn", help="model name or id")
    parser.add_argument("--mode", default="signed", choices=["signed", "audited", "tee", "zk"])
    parser.add_argument("--cheapest", action="store_true", help="cap each ticket at the cheapest quote instead of the budget left")
    parser.add_argument("--settle-timeout", type=float, default=120.0, help="seconds to wait for each call to settle")
    args = parser.parse_args(argv)
    if args.budget <= 0:
        parser.error("--budget must be positive")
    try:
        return run(args)
    except VerityError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
