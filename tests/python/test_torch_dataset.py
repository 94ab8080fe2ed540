"""shardstream.torch.StreamingDataset in a DataLoader, alone and as two gloo ranks."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import shardstream
from conftest import HERE, stream_jsonl, take
from shardstream.torch import StreamingDataset, TorchBatch

PLAN = dict(tokenizer="gpt2", seq_len=256, batch_size=4, seed=3)
PLAN_FLAGS = ("--tokenizer", "gpt2", "--seq-len", "256", "--batch-size", "4", "--seed", "3")


@pytest.fixture(scope="module")
def expected(catalog):
    return stream_jsonl(catalog, *PLAN_FLAGS, "--doc-boundaries", "--max-batches", "12")[0]


def test_dataloader_yields_int32_tensors_of_the_stream(server, expected):
    loader = torch.utils.data.DataLoader(StreamingDataset(server.address, **PLAN), batch_size=None)
    tensors = take(loader, 6)
    for tensor, want in zip(tensors, expected):
        assert isinstance(tensor, torch.Tensor)
        assert tensor.dtype == torch.int32 and tensor.shape == (4, 256)
        assert tensor.tolist() == want["tokens"]


def test_metadata_batches_share_the_received_message(server, expected):
    dataset = StreamingDataset(server.address, metadata=True, doc_boundaries=True, **PLAN)
    batches = take(torch.utils.data.DataLoader(dataset, batch_size=None), 3)
    for batch, want in zip(batches, expected):
        assert isinstance(batch, TorchBatch)
        assert batch.tokens.data_ptr() == batch._buffer_address  # no copy on the way
        assert batch.tokens.tolist() == want["tokens"]
        assert (batch.epoch, batch.step, batch.rank, batch.cursor) == (
            want["epoch"], want["step"], want["rank"], want["cursor"])
        assert [d.tolist() for d in batch.doc_starts] == want["doc_starts"]


def test_state_dict_through_a_checkpoint_file_resumes_exactly(server, expected, tmp_path):
    dataset = StreamingDataset(server.address, **PLAN)
    take(torch.utils.data.DataLoader(dataset, batch_size=None), 4)
    torch.save({"stream": dataset.state_dict()}, tmp_path / "checkpoint.pt")

    restarted = StreamingDataset(server.address, **PLAN)
    restarted.load_state_dict(torch.load(tmp_path / "checkpoint.pt")["stream"])
    resumed = take(torch.utils.data.DataLoader(restarted, batch_size=None), 4)
    assert [t.tolist() for t in resumed] == [w["tokens"] for w in expected[4:8]]
    assert restarted.state_dict()["cursor"] == expected[7]["cursor"]

    # Iterating the same dataset again continues the stream too (it is not restarted).
    again = take(torch.utils.data.DataLoader(restarted, batch_size=None), 2)
    assert [t.tolist() for t in again] == [w["tokens"] for w in expected[8:10]]


def test_worker_processes_are_refused_with_a_clear_error(server):
    loader = torch.utils.data.DataLoader(StreamingDataset(server.address, **PLAN),
                                         batch_size=None, num_workers=1)
    with pytest.raises(RuntimeError, match="num_workers=0"):
        next(iter(loader))


def test_server_errors_surface_through_the_dataloader(server):
    dataset = StreamingDataset(server.address, **dict(PLAN, tokenizer="missing"))
    with pytest.raises(shardstream.ShardstreamError) as info:
        next(iter(torch.utils.data.DataLoader(dataset, batch_size=None)))
    assert info.value.code == "NOT_FOUND"


def test_two_gloo_ranks_step_equally_over_disjoint_rows(server, tmp_path):
    subprocess.run([sys.executable, os.path.join(HERE, "gloo_ranks.py"), server.address,
                    str(tmp_path), "2"], check=True, env=dict(os.environ))
    ranks = [(np.load(tmp_path / f"rank{r}.npy"), json.load(open(tmp_path / f"rank{r}.json")))
             for r in range(2)]
    # The same steps on both ranks (same epochs, steps and cursors, in the same order) ...
    (tokens0, meta0), (tokens1, meta1) = ranks
    assert len(meta0) == len(meta1) > 0
    assert [m[:2] + m[3:] for m in meta0] == [m[:2] + m[3:] for m in meta1]
    assert {m[2] for m in meta0} == {0} and {m[2] for m in meta1} == {1}
    # ... and together exactly the global batches of one rank with twice the batch size:
    # rank 0 rows [0, 4), rank 1 rows [4, 8) of every global batch — disjoint, nothing left out.
    whole = shardstream.Reader(server.address, **dict(
        PLAN, seq_len=1024, batch_size=8, seed=11, epochs=1))
    global_batches = list(whole)
    assert len(global_batches) == len(meta0)
    for step, batch in enumerate(global_batches):
        np.testing.assert_array_equal(tokens0[step], batch.tokens[:4])
        np.testing.assert_array_equal(tokens1[step], batch.tokens[4:])
        assert meta0[step][3] == batch.cursor
