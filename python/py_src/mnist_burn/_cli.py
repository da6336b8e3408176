"""The trial commands of ``sweep()``: ``python -m mnist_burn._cli train|eval ...`` takes the
arguments the sweep's local launcher gives the ``train`` and ``eval`` binaries, and runs them
through this package, so a Python sweep needs no binary. Not a public interface."""

from __future__ import annotations

import argparse
import signal
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mnist_burn._cli")
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train")
    t.add_argument("--config", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--resume", action="store_true")
    t.add_argument("--force", action="store_true")
    e = commands.add_parser("eval")
    e.add_argument("--run", required=True)
    e.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    # The sweep stops a trial with the signal it was stopped by; SIGTERM stops it as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    from . import _native
    from ._train import train

    try:
        if args.command == "train":
            train(args.config, out=args.out, resume=args.resume, force=args.force, progress="lines")
        else:
            print(_native.cli_eval_json(args.run))
    except KeyboardInterrupt as e:
        print(f"error: {e}", file=sys.stderr)
        return 130
    except Exception as e:  # the engine's message, one line, as the binaries print it
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
