"""The ``bonemuscle`` command. Each subcommand lives in its own module with ``add_parser`` and ``run``.

Errors the user can act on are raised as :class:`CliError` (or IngestError) and printed as one line
on stderr with the contract's exit code. Anything else is a bug of ours: it too is one line (the
exception's type and message, exit 3), because a traceback in a department's batch log helps nobody;
``BONEMUSCLE_DEBUG=1`` lets it through with its traceback for whoever fixes it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from imaging import __version__
from imaging.ingest.model import IngestError

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_NOTHING_USABLE = 3

# subcommand name -> module under imaging.cli (imported lazily so `--help` stays fast)
COMMANDS: dict[str, str] = {
    "index": "index_cmd",
    "export-volume": "export_volume_cmd",
    "dxa": "dxa_cmd",
    "analyze": "analyze_cmd",
    "batch": "batch_cmd",
}


class CliError(Exception):
    """A user-facing failure: message for stderr plus the exit code."""

    def __init__(self, message: str, code: int = EXIT_NOTHING_USABLE) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as the contract says
        self.exit(EXIT_USAGE, f"bonemuscle: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bonemuscle", description="Body composition and osteosarcopenia from CT/MR DICOM.")
    parser.add_argument("--version", action="version", version=f"bonemuscle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, module in COMMANDS.items():
        importlib.import_module(f"imaging.cli.{module}").add_parser(sub, name)
    return parser


def quiet_library_warnings() -> None:
    """Library warnings (pydicom on odd headers, highdicom, numpy, torch) go to the ``py.warnings``
    debug log, not stderr: stderr carries one line per failed input and nothing else. What matters to
    a result is already in that result's warnings. ``BONEMUSCLE_DEBUG=1`` shows them again."""
    logging.captureWarnings(True)
    log = logging.getLogger("py.warnings")
    if os.environ.get("BONEMUSCLE_DEBUG"):
        if not log.handlers:
            log.addHandler(logging.StreamHandler())
        log.setLevel(logging.DEBUG)
        log.propagate = False
        return
    log.handlers = [logging.NullHandler()]
    log.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    quiet_library_warnings()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (CliError, IngestError) as exc:
        print(f"bonemuscle {args.command}: {exc}", file=sys.stderr)
        return exc.code if isinstance(exc, CliError) else EXIT_NOTHING_USABLE
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("bonemuscle: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: a fault of ours, still one line, never a traceback
        if os.environ.get("BONEMUSCLE_DEBUG"):
            raise
        message = " ".join(str(exc).split())[:300]
        print(
            f"bonemuscle {args.command}: internal error ({type(exc).__name__}: {message}); "
            "rerun with BONEMUSCLE_DEBUG=1 for the traceback and report it",
            file=sys.stderr,
        )
        return EXIT_NOTHING_USABLE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
