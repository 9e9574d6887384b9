#!/usr/bin/env python3
"""Encoding throughput of Hugging Face's `tokenizers` (the Rust core) on the text of
`lrnn bench --tokenizer DIR --write-text FILE`, measured like lrnn: one `encode` call without
special tokens, single-threaded, best of 3 after a warm-up.

    pip install tokenizers
    lrnn bench --tokenizer DIR --write-text bench.txt
    python3 scripts/tokenizer_bench.py DIR bench.txt
"""
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import Tokenizer, __version__  # noqa: E402


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    directory, path = sys.argv[1], sys.argv[2]
    tokenizer = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    with open(path, encoding="utf-8") as f:
        text = f.read()
    size = len(text.encode("utf-8"))
    count = len(tokenizer.encode(text, add_special_tokens=False).ids)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        count = len(tokenizer.encode(text, add_special_tokens=False).ids)
        best = min(best, time.perf_counter() - start)
    print(
        f"tokenizers {__version__} {directory}: {size} bytes, {count} tokens in {best:.4f} s: "
        f"{size / 1e6 / best:.2f} MB/s, {count / best:.0f} tokens/s (1 thread)"
    )


if __name__ == "__main__":
    main()
