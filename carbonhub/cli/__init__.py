"""The ``carbonhub`` command."""

from carbonhub.cli.main import main

__all__ = ["main"]
