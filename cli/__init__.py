"""The `cdn` command: each subcommand is one module in cli/commands/ that wires shells together."""
