#!/usr/bin/env python3
"""Trains a tiny GPT on CPU from a shardstream server, data-parallel over torch.distributed (gloo).

    # N processes on this machine (spawned here), each one rank of the stream:
    /usr/bin/python3 examples/train_tiny_gpt.py --server 127.0.0.1:7711 --tokenizer gpt2 \
        --nproc 2 --steps 200 --checkpoint /tmp/tiny-gpt.pt --checkpoint-every 50
    # ... interrupted? The same command with --resume continues with exactly the batches the
    # uninterrupted run would have seen (the stream position is inside the checkpoint):
    /usr/bin/python3 examples/train_tiny_gpt.py ... --resume
    # With RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT in the environment (torchrun, or set by
    # hand: Debian 12's torchrun fails on Python 3.11) it runs as that one rank.

The data side is three lines: a StreamingDataset (rank and world size from torch.distributed), a
DataLoader with batch_size=None, and dataset.state_dict() in the checkpoint. Every step checks
that all ranks are at the same (epoch, step) of the stream. PYTHONPATH must hold the shardstream
package: <build>/python, or nothing after `cmake --install`.
"""
import argparse
import contextlib
import hashlib
import json
import math
import os
import socket
import sys
import time

# One BLAS/OpenMP thread per rank unless told otherwise: ranks are processes already.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

import shardstream
from shardstream.torch import StreamingDataset


class Block(nn.Module):
    """Pre-norm transformer block: causal self-attention, then an MLP."""

    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                 nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor, causal_mask: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=causal_mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    """Token + position embeddings, a few blocks, and an output layer tied to the embedding."""

    def __init__(self, vocab_size: int, context: int, d_model: int, layers: int, heads: int):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList(Block(d_model, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d_model)
        nn.init.normal_(self.tok.weight, std=0.02)
        nn.init.normal_(self.pos.weight, std=0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # [B, T] -> logits [B, T, vocab]
        t = ids.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)  # True: may not attend (future)
        x = self.tok(ids) + self.pos(torch.arange(t))
        for block in self.blocks:
            x = block(x, mask)
        return self.ln_f(x) @ self.tok.weight.T


class RankSync:
    """The loop's own collectives (besides DDP's gradient all-reduce), on tensors allocated once.

    Keeping them for the whole run also avoids a torch 1.13 shutdown deadlock: if gloo's worker
    thread drops the last reference to a tensor created in Python while the main thread tears
    the process group down (holding the GIL), both wait forever.
    """

    def __init__(self, world_size: int) -> None:
        self.world_size = world_size
        self.low = torch.zeros(2, dtype=torch.int64)
        self.high = torch.zeros(2, dtype=torch.int64)
        self.total = torch.zeros((), dtype=torch.float64)

    def same_position(self, epoch: int, step: int) -> bool:
        """True when every rank is at this (epoch, step) of the stream."""
        for t, op in ((self.low, dist.ReduceOp.MIN), (self.high, dist.ReduceOp.MAX)):
            t[0], t[1] = epoch, step
            dist.all_reduce(t, op=op)
        return bool(torch.equal(self.low, self.high))

    def mean(self, value: float) -> float:
        """`value` averaged over the ranks."""
        self.total.fill_(value)
        dist.all_reduce(self.total)
        return self.total.item() / self.world_size


def language_model_loss(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of predicting each token from the ones before it in its row."""
    logits = model(ids[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def evaluate(model: nn.Module, batches: list, sync: RankSync) -> float:
    """Mean loss over fixed batches (this rank's rows), averaged over the ranks."""
    with torch.no_grad():
        loss = torch.stack([language_model_loss(model, ids) for ids in batches]).mean()
    return sync.mean(loss.item())


def save_checkpoint(path: str, model: nn.Module, optimizer, dataset, step: int) -> None:
    """Model + optimizer + stream position, written atomically (rank 0 only)."""
    state = {"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "stream": dataset.state_dict()}
    torch.save(state, path + ".tmp")
    os.replace(path + ".tmp", path)


def train(rank: int, world_size: int, args: argparse.Namespace) -> None:
    if args.init_method:
        dist.init_process_group("gloo", init_method=args.init_method, rank=rank,
                                world_size=world_size)
    else:
        dist.init_process_group("gloo")  # from RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # the same initial weights on every rank

    info = shardstream.server_info(args.server.split(",")[0])
    vocab = next(t for t in info["tokenizers"] if args.tokenizer in (t["name"], t["fingerprint"]))
    dataset = StreamingDataset(args.server, tokenizer=args.tokenizer, seq_len=args.seq_len,
                               batch_size=args.batch_size, seed=args.seed, metadata=True)
    model = TinyGPT(vocab["vocab_size"], args.seq_len, args.d_model, args.layers, args.heads)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    step = 0
    if args.resume:
        checkpoint = torch.load(args.checkpoint)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        dataset.load_state_dict(checkpoint["stream"])
        step = checkpoint["step"]
    ddp = DistributedDataParallel(model)
    sync = RankSync(world_size)
    log = open(f"{args.log}.rank{rank}", "a") if args.log else None
    if rank == 0:
        print(f"training on {world_size} rank(s): {sum(p.numel() for p in model.parameters()):,} "
              f"parameters, vocabulary {vocab['vocab_size']}, {args.batch_size}x{args.seq_len} "
              f"tokens per rank and step, from step {step}", flush=True)
    # Evaluation batches: the first ones of another shuffle (seed + 1), the same in every run,
    # so that losses before and after training compare the same tokens.
    with shardstream.Reader(args.server, tokenizer=args.tokenizer, seq_len=args.seq_len,
                            batch_size=args.batch_size, seed=args.seed + 1, rank=rank,
                            world_size=world_size) as reader:
        eval_batches = [torch.from_numpy(b.tokens.astype("int64"))
                        for _, b in zip(range(args.eval_batches), reader)]

    def report_eval() -> None:
        if not eval_batches:
            return
        loss = evaluate(model, eval_batches, sync)
        if log:
            log.write(json.dumps({"step": step, "eval_loss": loss}) + "\n")
        if rank == 0:
            print(f"step {step:5d}  eval loss {loss:7.4f} on {args.eval_batches} fixed batches",
                  flush=True)

    report_eval()
    first_step, start, tokens_seen = step, time.perf_counter(), 0
    loader = torch.utils.data.DataLoader(dataset, batch_size=None)
    # The loop stops right after a step, so the dataset's state never runs ahead of the model.
    for batch in (loader if step < args.steps else ()):
        # Lockstep: every rank holds the rows of the same global batch.
        if not sync.same_position(batch.epoch, batch.step):
            raise RuntimeError(f"rank {rank} is at epoch {batch.epoch} step {batch.step}, "
                               "another rank is not")
        ids = batch.tokens.long()
        loss = language_model_loss(ddp, ids)
        for group in optimizer.param_groups:  # linear warmup: a function of the step alone
            group["lr"] = args.lr * min(1.0, (step + 1) / args.warmup)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # DDP averages the gradients over the ranks
        optimizer.step()
        step += 1
        mean_loss = sync.mean(loss.item())
        tokens_seen += ids.numel() * world_size
        if log:
            log.write(json.dumps({
                "step": step, "epoch": batch.epoch, "stream_step": batch.step,
                "cursor": batch.cursor, "loss": mean_loss, "rank_loss": loss.item(),
                "tokens_sha1": hashlib.sha1(batch.tokens.numpy().tobytes()).hexdigest(),
                "rows_sha1": [hashlib.sha1(r.numpy().tobytes()).hexdigest()
                              for r in batch.tokens]}) + "\n")
            log.flush()
        if rank == 0 and (step % args.log_every == 0 or step == args.steps):
            rate = tokens_seen / (time.perf_counter() - start)
            print(f"step {step:5d}  loss {mean_loss:7.4f}  (ppl {math.exp(mean_loss):9.1f})  "
                  f"{rate:8.0f} tokens/s  epoch {batch.epoch} stream step {batch.step}",
                  flush=True)
        if args.checkpoint and args.checkpoint_every and step % args.checkpoint_every == 0:
            if rank == 0:
                save_checkpoint(args.checkpoint, model, optimizer, dataset, step)
            dist.barrier()
        if args.eval_every and step % args.eval_every == 0 and step < args.steps:
            report_eval()
        if step == args.stop_after:
            if rank == 0:
                print(f"stopping after step {step} (--stop-after)", flush=True)
            break
        if step >= args.steps:
            break
    if step == args.steps > first_step:
        report_eval()
    if log:
        log.close()
    del ddp  # then the process group, while `sync` still holds its tensors (see RankSync)
    dist.destroy_process_group()


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", required=True, help="HOST:PORT[,HOST:PORT...]")
    parser.add_argument("--tokenizer", default="gpt2")
    parser.add_argument("--seq-len", type=int, default=128, help="tokens per row (context + 1)")
    parser.add_argument("--batch-size", type=int, default=8, help="rows per rank and step")
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed and weight init")
    parser.add_argument("--steps", type=int, default=200, help="train until this global step")
    parser.add_argument("--nproc", type=int, default=2, help="ranks to spawn (without torchrun)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per rank")
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (AdamW)")
    parser.add_argument("--warmup", type=int, default=10, help="steps of linear warmup")
    parser.add_argument("--eval-batches", type=int, default=8,
                        help="fixed batches per rank evaluated at the start and the end")
    parser.add_argument("--eval-every", type=int, default=0, help="also every N steps")
    parser.add_argument("--checkpoint", help="checkpoint file (model, optimizer, stream)")
    parser.add_argument("--checkpoint-every", type=int, default=0, help="steps; 0: never")
    parser.add_argument("--resume", action="store_true", help="start from --checkpoint")
    parser.add_argument("--stop-after", type=int, default=0,
                        help="stop at this step as if interrupted (to try --resume)")
    parser.add_argument("--log", help="append one JSON line per step to LOG.rank<r>")
    parser.add_argument("--log-every", type=int, default=10)
    args = parser.parse_args()
    if args.resume and not (args.checkpoint and os.path.exists(args.checkpoint)):
        parser.error("--resume needs an existing --checkpoint")
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        args.init_method = None
        train(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), args)
    else:
        args.init_method = f"tcp://127.0.0.1:{free_port()}"
        mp.spawn(lambda_free_train, args=(args,), nprocs=args.nproc)
    return 0


def lambda_free_train(rank: int, args: argparse.Namespace) -> None:
    """mp.spawn's entry point (a module-level function, so that it pickles)."""
    train(rank, args.nproc, args)


if __name__ == "__main__":
    sys.exit(main())
