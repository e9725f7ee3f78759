"""The ``trfviz`` command line: the parser, and every error as one line on stderr.

Each command lives in a module of its own (:mod:`trfviz.cli.demo`,
:mod:`trfviz.cli.align`, :mod:`trfviz.cli.figure`) that adds its sub-parser and
runs it; :func:`main` builds the parser and turns whatever goes wrong into one
line ``trfviz: error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from trfviz.cli import align, demo, figure

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Every error, argparse's included, is one line ``trfviz: error: ...`` on
    stderr and exit status 2 (130 when interrupted); set ``TRFVIZ_DEBUG=1`` to
    get the traceback instead.
    """
    parser = _ArgumentParser(
        prog="trfviz", description="What transformers attend to, in linguistic terms."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo.add_demo_command(commands)
    align.add_align_command(commands)
    figure.add_figure_command(commands)

    debug = os.environ.get("TRFVIZ_DEBUG", "") not in ("", "0")
    try:
        args = parser.parse_args(argv)
        return int(args.run(args) or 0)
    except _UsageError as error:
        _fail(f"{error} (see {error.prog} --help)")
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except (ValueError, TypeError, OSError, RuntimeError, LookupError, ImportError) as error:
        if debug:
            raise
        _fail(str(error) or type(error).__name__)
    except Exception as error:  # a bug: still one line, with the way to the traceback
        if debug:
            raise
        _fail(
            f"unexpected {type(error).__name__}: {error} "
            "(set TRFVIZ_DEBUG=1 for the traceback, and please report it)"
        )
    return 2


class _UsageError(Exception):
    """A command line argparse refused; raised instead of argparse's usage text and exit."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.prog = prog


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors reach :func:`main` as :class:`_UsageError`."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message, self.prog)


def _fail(message: str) -> None:
    """Print ``message`` as the one line ``trfviz: error: ...`` on stderr."""
    line = " ".join(message.split())
    print(f"trfviz: error: {line}", file=sys.stderr)
