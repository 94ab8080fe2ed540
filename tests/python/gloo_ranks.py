"""Helper for test_torch_dataset.py: WORLD processes in a gloo process group, each reading one
epoch of StreamingDataset (rank and world size from torch.distributed) through a DataLoader.

usage: gloo_ranks.py SERVER OUT_DIR WORLD  — writes OUT_DIR/rank<r>.npy (tokens [steps, B, L])
and OUT_DIR/rank<r>.json (epoch, step and cursor of every batch).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from conftest import free_port
from shardstream.torch import StreamingDataset

PLAN = dict(tokenizer="gpt2", seq_len=1024, batch_size=4, seed=11, epochs=1)


def rank_main(rank, world, port, server, out_dir):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    dataset = StreamingDataset(server, metadata=True, **PLAN)
    assert dataset.rank_and_world_size() == (rank, world)
    tokens, meta = [], []
    for batch in torch.utils.data.DataLoader(dataset, batch_size=None):
        tokens.append(batch.tokens.numpy().copy())
        meta.append([batch.epoch, batch.step, batch.rank, batch.cursor])
    np.save(os.path.join(out_dir, f"rank{rank}.npy"), np.stack(tokens))
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(meta, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    server, out_dir, world = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mp.spawn(rank_main, args=(world, free_port(), server, out_dir), nprocs=world)
