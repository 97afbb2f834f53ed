"""Subcommands of `cdn`, one module each.

A module here defines ``NAME`` (the subcommand), ``HELP`` (one line for `cdn --help`),
``configure(parser)`` to add its arguments and ``run(args) -> int`` to execute it.
cli/main.py discovers the modules, so a subcommand exists exactly when its module does.
"""
