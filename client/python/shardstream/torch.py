"""PyTorch adapter: a ``torch.utils.data.IterableDataset`` over a shardstream ``Reader``.

    from shardstream.torch import StreamingDataset
    dataset = StreamingDataset("shard-0:7711", tokenizer="gpt2", seq_len=1024, batch_size=8)
    for tokens in torch.utils.data.DataLoader(dataset, batch_size=None):  # [8, 1024] int32
        ...
        checkpoint["stream"] = dataset.state_dict()

Batches arrive already batched and prefetched (by the C++ reader's thread), so the DataLoader
takes ``batch_size=None`` and ``num_workers=0``: a worker process would only add a copy through
shared memory, and the main process could not save the stream position. ``num_workers > 0``
raises a RuntimeError that says so.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.distributed
import torch.utils.data

from shardstream import Reader, _cursor_from_state, _STATE_VERSION

__all__ = ["StreamingDataset", "TorchBatch"]


@dataclasses.dataclass(frozen=True)
class TorchBatch:
    """What ``StreamingDataset(metadata=True)`` yields."""

    tokens: torch.Tensor  # [batch_size, seq_len] int32, sharing the received message's memory
    epoch: int
    step: int  # global batch index within the epoch: equal on every rank at the same step
    rank: int
    cursor: str
    doc_starts: Optional[List[torch.Tensor]] = None  # per row, int64 document start offsets
    _buffer_address: int = dataclasses.field(default=0, repr=False, compare=False)


class StreamingDataset(torch.utils.data.IterableDataset):
    """One rank's token batches from shard servers, as ``torch.int32`` tensors.

    Yields ``[batch_size, seq_len]`` tensors (``metadata=True``: ``TorchBatch`` with the epoch,
    step and cursor too); use it with ``DataLoader(dataset, batch_size=None)``. Token ids travel
    as int32 so that the tensor can share the message's memory (PyTorch has no uint16); call
    ``.long()`` where a loss needs int64 targets.

    ``rank`` and ``world_size`` default to ``torch.distributed``'s when a process group is
    initialised when iteration starts, else to 0 and 1. Every rank gets the same number of steps
    by construction (the server drops an epoch's tail of less than one global batch).

    ``state_dict()`` / ``load_state_dict()`` follow torchdata's ``StatefulDataLoader``
    protocol: the state is the cursor after the last batch yielded, the same on every rank, so
    rank 0 can save it for all. Loading it before iterating resumes exactly after that batch.

    The other arguments are those of ``shardstream.Reader``.
    """

    def __init__(self, server: Union[str, Sequence[str]], *, tokenizer: str, seq_len: int,
                 batch_size: int, seed: int = 0, rank: Optional[int] = None,
                 world_size: Optional[int] = None, epochs: int = 0, no_dedup: bool = False,
                 filter_preset: str = "", doc_boundaries: bool = False,
                 prefetch_batches: int = 4, retry_deadline: float = 120.0,
                 metadata: bool = False, mix: str = "", tls_ca: str = "", tls_cert: str = "",
                 tls_key: str = "", tls_server_name: str = "", token: str = "",
                 token_file: str = "") -> None:
        super().__init__()
        if (rank is None) != (world_size is None):
            raise ValueError("give both rank and world_size, or neither")
        self._server = server
        self._rank, self._world_size = rank, world_size
        self._options = dict(
            tokenizer=tokenizer, seq_len=seq_len, batch_size=batch_size, seed=seed,
            epochs=epochs, no_dedup=no_dedup, filter_preset=filter_preset,
            doc_boundaries=doc_boundaries, prefetch_batches=prefetch_batches,
            retry_deadline=retry_deadline, mix=mix, tls_ca=tls_ca, tls_cert=tls_cert,
            tls_key=tls_key, tls_server_name=tls_server_name, token=token, token_file=token_file)
        self._metadata = metadata
        self._cursor = ""

    def rank_and_world_size(self) -> Tuple[int, int]:
        """(rank, world_size) this dataset streams for: the given ones, else the process
        group's."""
        if self._rank is not None:
            return self._rank, self._world_size
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def __iter__(self) -> Iterator[Union[torch.Tensor, TorchBatch]]:
        if torch.utils.data.get_worker_info() is not None:
            raise RuntimeError(
                "shardstream.torch.StreamingDataset needs DataLoader(num_workers=0): batches are "
                "already prefetched by the C++ reader's thread, and in a worker process the "
                "stream position (state_dict) would not reach the main process")
        rank, world_size = self.rank_and_world_size()
        reader = Reader(self._server, rank=rank, world_size=world_size, cursor=self._cursor,
                        dtype="int32", **self._options)
        try:
            for batch in reader:
                tokens = torch.from_numpy(batch.tokens)
                self._cursor = batch.cursor  # the caller has this batch from now on
                if not self._metadata:
                    yield tokens
                    continue
                doc_starts = None
                if batch.doc_starts is not None:
                    doc_starts = [torch.from_numpy(d.astype("int64")) for d in batch.doc_starts]
                yield TorchBatch(tokens, batch.epoch, batch.step, batch.rank, batch.cursor,
                                 doc_starts, batch._buffer_address)
        finally:
            reader.close()

    def state_dict(self) -> dict:
        """``{"version": 1, "cursor": str}``: the position after the last batch yielded."""
        return {"version": _STATE_VERSION, "cursor": self._cursor}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Makes the next iteration start after the batch ``state`` was taken at."""
        self._cursor = _cursor_from_state(state)
