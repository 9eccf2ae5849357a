"""The command line: click commands that parse options, call the core and print (one module per group)."""

from charvoice.cli.main import cli, main

__all__ = ["cli", "main"]
