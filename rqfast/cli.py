"""The ``rqfast`` command.

Each subcommand lives in its own module and is imported only when it is run, so
that ``rqfast --help`` stays fast and a broken optional dependency of one
subcommand does not break the others. To add a subcommand, write a click
command in its module and name it in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

#: Subcommand name -> "module:attribute" of its click command.
SUBCOMMANDS: dict[str, str] = {
    "demo": "rqfast.demo:demo_command",
    "worker": "rqfast.worker_command:worker_command",
    "bench": "rqfast.bench:bench_command",
    "stats": "rqfast.stats:stats_command",
    "requeue": "rqfast.requeue_command:requeue_command",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(
        self, *args: Any, lazy_subcommands: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the eager and the lazy subcommand names, sorted."""
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the named subcommand, importing its module if need be."""
        if cmd_name not in self.lazy_subcommands:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = self.lazy_subcommands[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(
                f"{module_name}:{attribute} is not a click command "
                f"(it is a {type(command).__name__})"
            )
        return command


@click.group(cls=LazyGroup, lazy_subcommands=SUBCOMMANDS)
@click.version_option(package_name="rqfast")
def main() -> None:
    """Run rqfast's workers and tools: benchmarks, retry counters, bulk requeue."""
