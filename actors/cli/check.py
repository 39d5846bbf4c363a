"""``xmlactors check FILE``: validate an organism file, import what it names, list its listeners."""

from __future__ import annotations

import argparse

from ._common import OK

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the organism file to validate")


def run(args: argparse.Namespace) -> int:
    from ..organism import load_organism

    organism = load_organism(args.file)
    for listener in organism.listeners:
        tags = " ".join(f"<{cls.__name__}>" for cls in listener.payload_classes)
        print(f"{listener.name}\tworkers={listener.workers}\t{tags}\t{listener.description}")
    return OK
