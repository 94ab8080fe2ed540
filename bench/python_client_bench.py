#!/usr/bin/env python3
"""Python client throughput against the C++ client, side by side on one server and one stream.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_client_bench.py --db CATALOG \
        [--tokenizer gpt2] [--seq-len 1024] [--batch-size 8] [--batches 3000] [--repeats 3]

Starts `shardstream serve` on 127.0.0.1 (port 0) over CATALOG, then, in each repeat and in
turn, reads the same batches (same plan, same seed) with:
  C++ Reader            build/bench/reader_throughput (the baseline)
  Python Reader         shardstream.Reader: NumPy views of each batch
  Reader + torch        ... and torch.from_numpy on each
  DataLoader            DataLoader(StreamingDataset, batch_size=None)
in uint16 (C++ and Python Reader) and int32 (everything; what the PyTorch dataset requests).
Each run times the batches after the first (the first includes opening the stream), and every
row's ratio is against the C++ Reader of the same dtype in the same repeat. Nobody touches the
token values: the numbers are the clients' overhead plus transport.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timed(iterable, batches, tokens_of):
    """(batches, tokens, seconds) over the items after the first."""
    it = iter(iterable)
    first = next(it)
    del first
    start, n, tokens = time.perf_counter(), 0, 0
    for item in it:
        n += 1
        tokens += tokens_of(item)
        if n == batches - 1:
            break
    return n, tokens, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--tokenizer", default="gpt2")
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--batches", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = parser.parse_args()

    import shardstream
    import torch
    from shardstream.torch import StreamingDataset

    server = subprocess.Popen([os.path.join(args.build, "client", "shardstream"), "serve", "--db",
                               args.db, "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE,
                              text=True)
    try:
        line = server.stderr.readline()
        address = line.split("listening on ")[1].split()[0]
        plan = dict(tokenizer=args.tokenizer, seq_len=args.seq_len, batch_size=args.batch_size,
                    seed=1)

        def cpp(dtype):
            out = subprocess.run(
                [os.path.join(args.build, "bench", "reader_throughput"), address, args.tokenizer,
                 "--seq-len", str(args.seq_len), "--batch-size", str(args.batch_size),
                 "--batches", str(args.batches), "--seed", "1", "--dtype", dtype],
                capture_output=True, text=True, check=True).stdout
            fields = dict(kv.split("=") for kv in out.split())
            return int(fields["batches"]), int(fields["tokens"]), float(fields["seconds"])

        def reader(dtype):
            return shardstream.Reader(address, dtype=dtype, **plan)

        runs = [
            ("uint16", "C++ Reader", lambda: cpp("uint16")),
            ("uint16", "Python Reader", lambda: timed(reader("uint16"), args.batches,
                                                      lambda b: b.tokens.size)),
            ("int32", "C++ Reader", lambda: cpp("int32")),
            ("int32", "Python Reader", lambda: timed(reader("int32"), args.batches,
                                                     lambda b: b.tokens.size)),
            ("int32", "Reader + torch.from_numpy", lambda: timed(
                reader("int32"), args.batches, lambda b: torch.from_numpy(b.tokens).numel())),
            ("int32", "DataLoader(StreamingDataset)", lambda: timed(
                torch.utils.data.DataLoader(StreamingDataset(address, **plan), batch_size=None),
                args.batches, lambda t: t.numel())),
        ]
        print(f"{args.batch_size} x {args.seq_len} tokens per batch, {args.batches} batches per "
              f"run, server {address} (shares this machine's cores)")
        print(f"{'repeat':>6} {'dtype':>6} {'client':<30} {'batches/s':>10} {'M tokens/s':>11} "
              f"{'vs C++':>7}")
        rates = {}
        for repeat in range(args.repeats):
            baseline = {}
            for dtype, name, run in runs:
                n, tokens, seconds = run()
                rate = tokens / seconds
                baseline.setdefault(dtype, rate)
                rates.setdefault((dtype, name), []).append((rate, n / seconds))
                print(f"{repeat:>6} {dtype:>6} {name:<30} {n / seconds:>10.0f} {rate / 1e6:>11.1f} "
                      f"{rate / baseline[dtype]:>7.2f}", flush=True)
        median = {key: sorted(values)[len(values) // 2] for key, values in rates.items()}
        for (dtype, name), (rate, batch_rate) in median.items():
            cpp_rate = median[(dtype, "C++ Reader")][0]
            print(f"{'median':>6} {dtype:>6} {name:<30} {batch_rate:>10.0f} {rate / 1e6:>11.1f} "
                  f"{rate / cpp_rate:>7.2f}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
