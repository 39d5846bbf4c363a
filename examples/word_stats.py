"""Chain and fan out: one Sequence per shipped text, all inside one Buffer.

    python -m examples.word_stats [--base simpleSystemBase]

The Buffer's target is ``system.sequence``: each item is a ``SequenceStart``
running ``text.tokenize`` then ``text.summarize`` on one text. Each item's
result is that sequence's ``SequenceComplete``, at the text's index.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from lxml import etree

from actors import Runtime
from actors.primitives import BufferStart, SequenceComplete, SequenceStart, parse_results
from examples.wordfreq import Document, Summary

ORGANISM = Path(__file__).with_name("wordfreq.xml")
TEXTS = Path(__file__).with_name("data") / "texts.xml"
STEPS = ["text.tokenize", "text.summarize"]


def documents(path: Path = TEXTS) -> list[Document]:
    """The shipped texts, whitespace collapsed."""
    root = etree.parse(str(path)).getroot()
    return [Document(el.get("title", ""), " ".join((el.text or "").split()))
            for el in root.iter("text")]


def summarize_all(runtime: Runtime, docs: list[Document]) -> list[Summary | str]:
    """A ``Summary`` per document (or the error of its failed sequence), in order."""
    items = [SequenceStart(steps=STEPS, payload=doc, timeout=30) for doc in docs]
    done = runtime.ask("system.buffer", BufferStart(target="system.sequence", items=items,
                                                    timeout=60), timeout=70)
    summaries: list[Summary | str] = []
    for result in parse_results(done.results.encode()):
        if result.success:
            complete = SequenceComplete.from_xml(result.payload)
            summaries.append(Summary.from_xml(complete.final_result))
        else:
            summaries.append(result.payload.decode("utf-8") or result.reason)
    return summaries


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.word_stats", description=__doc__)
    parser.add_argument("--base", default="simpleSystemBase")
    args = parser.parse_args(argv)
    with Runtime.from_config(ORGANISM, base=args.base) as runtime:
        summaries = summarize_all(runtime, documents())
    for summary in summaries:
        if isinstance(summary, Summary):
            print(f"{summary.title:<10} {summary.words:>3} words, {summary.distinct:>3} distinct;"
                  f" most frequent: {', '.join(summary.top)}", file=out)
        else:
            print(f"failed: {summary}", file=out)
    return 0 if all(isinstance(s, Summary) for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
