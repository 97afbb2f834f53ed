"""Entry point of the `cdn` command: discovers subcommands and turns user errors into messages."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

import cli.commands
from cdn.errors import ConfigError
from cli.errors import UserError

PROG = "cdn"


def _subcommand_modules() -> list[ModuleType]:
    modules = []
    for info in pkgutil.iter_modules(cli.commands.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"cli.commands.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return sorted(modules, key=lambda m: m.NAME)


def build_parser() -> argparse.ArgumentParser:
    """The full `cdn` argument parser with every subcommand that exists."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="cdnlab: run a CDN on your laptop, plan one, load-test one.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _subcommand_modules():
        doc = (module.__doc__ or module.HELP).strip()
        child = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(child)
        child.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `cdn` with ``argv`` (default: sys.argv) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (UserError, ConfigError) as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
