"""Print a message in a speech bubble, for the workflow labs (07, 08): the steps of a Workflow say
something, and what each said is in its log.

    python say.py MESSAGE...                 the message in a bubble
    python say.py --output FILE=VALUE MSG    also write VALUE to FILE (an output parameter's file)
    python say.py --fail MESSAGE             say it, then exit with code 1 (a step that fails)
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

MOUTH = r"""
        \
         \   [o_o]
          \  /| |\
              / \
"""


def bubble(message: str, width: int = 40) -> str:
    lines = textwrap.wrap(message, width) or [""]
    inner = max(len(line) for line in lines)
    if len(lines) == 1:
        edges = [("<", ">")]
    else:
        edges = [("/", "\\")] + [("|", "|")] * (len(lines) - 2) + [("\\", "/")]
    body = [f"{left} {line.ljust(inner)} {right}" for (left, right), line in zip(edges, lines)]
    return "\n".join([" " + "_" * (inner + 2), *body, " " + "-" * (inner + 2)]) + MOUTH


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="say something in a speech bubble")
    parser.add_argument("message", nargs="*", help="what to say")
    parser.add_argument("--output", action="append", default=[], metavar="FILE=VALUE")
    parser.add_argument("--fail", action="store_true", help="exit with code 1 after saying it")
    args = parser.parse_args(argv)
    message = " ".join(args.message)
    print(bubble(message))
    print(f"said: {message}", flush=True)
    for item in args.output:
        path, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--output {item!r}: write it as FILE=VALUE")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(value)
    return 1 if args.fail else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
