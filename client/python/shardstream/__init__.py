"""shardstream's Python client: token batches from shard servers, as NumPy arrays.

    import shardstream
    reader = shardstream.Reader("shard-0:7711", tokenizer="gpt2", seq_len=1024, batch_size=8)
    for batch in reader:
        train_step(batch.tokens)            # numpy [batch_size, seq_len], no copy
        save_checkpoint(reader.state_dict())  # {"cursor": ...}: resume exactly from here

One implementation of prefetch, retry with backoff, failover and exact resume: the C++ client
library's ``Reader``, bound with pybind11. For PyTorch see ``shardstream.torch``.
"""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import numpy as np

from shardstream import _reader
from shardstream.errors import ShardstreamError

__all__ = ["Batch", "Reader", "ShardstreamError", "server_info"]
__version__ = "0.1.0"

_STATE_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Batch:
    """One batch of one rank.

    ``tokens`` is a read-write NumPy array ``[batch_size, seq_len]`` of ``uint16`` or ``int32``
    (little-endian) that views the received message's buffer: no copy is made, and the buffer
    lives as long as the array (or any view of it) does.
    """

    tokens: np.ndarray
    epoch: int
    step: int  # global batch index within the epoch: equal on every rank at the same step
    rank: int
    cursor: str  # resumes after this batch: the same string on every rank at the same step
    # With doc_boundaries: per row, the offsets where a document begins (uint32 arrays).
    doc_starts: Optional[List[np.ndarray]] = None
    _buffer_address: int = dataclasses.field(default=0, repr=False, compare=False)


class Reader(Iterator[Batch]):
    """Streams one rank's batches from shard servers; iterate it.

    Args:
      server: ``"HOST:PORT"``, several separated by commas, or a sequence of them: the
        dataset's shard servers, which together hold every partition (servers holding the same
        partitions are replicas: the reader fails over between them). The batches do not
        depend on how many servers there are or which of them answer.
      tokenizer: tokenizer name on the server (or a fingerprint prefix of >= 8 hex digits).
      seq_len: tokens per row.
      batch_size: rows per batch for this rank (the global batch is ``world_size`` times that).
      seed: shuffle seed.
      rank, world_size: this rank's rows ``[rank*batch_size, (rank+1)*batch_size)`` of every
        global batch; every rank gets the same number of steps.
      epochs: stop after this many epochs; 0 streams forever.
      cursor: resume after this cursor (``Batch.cursor`` or ``state_dict()``); valid for any
        world size and batch size of the same plan.
      no_dedup: keep duplicate documents (default: first copies only).
      filter_preset: ``""``, ``"codeparrot-clean"``, ``"near-dedup"`` or
        ``"codeparrot-clean-near-dedup"`` (the last two after ``shardstream dedup``).
      mix: sources and weights, ``"python=0.7,docs=0.3"`` (proportions of sequences); ``""``
        streams every source in proportion to its size. See docs/mixtures.md.
      doc_boundaries: fill ``Batch.doc_starts``.
      dtype: ``"uint16"``, ``"int32"``, or None (the server picks uint16 when the vocabulary
        fits).
      prefetch_batches: batches received ahead of the caller (bounds client memory).
      retry_deadline: seconds without a batch after which retrying gives up with UNAVAILABLE
        (counted also while a request is open: a frozen server is given up in time).
      tls_ca: the CA bundle (PEM file) that signed the servers' certificates: TLS.
      tls_cert, tls_key: this client's certificate chain and key (PEM files): mutual TLS.
      tls_server_name: check the server certificates for this name instead of the host.
      token, token_file: a bearer token, or a file holding it (re-read when it changes);
        neither: ``$SHARDSTREAM_TOKEN`` when set. Sent only over TLS or to a loopback address.

    Errors arrive as ``ShardstreamError`` (with the gRPC status code name) from ``next()``;
    arguments that are wrong on their face raise ``ValueError`` at once.

    Thread-safety: use one Reader from one thread at a time. The GIL is released while waiting
    for batches, so other Python threads run meanwhile.
    """

    def __init__(self, server: Union[str, Sequence[str]], *, tokenizer: str, seq_len: int,
                 batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1,
                 epochs: int = 0, cursor: str = "", no_dedup: bool = False,
                 filter_preset: str = "", doc_boundaries: bool = False,
                 dtype: Optional[str] = None, prefetch_batches: int = 4,
                 retry_deadline: float = 120.0, mix: str = "", tls_ca: str = "",
                 tls_cert: str = "", tls_key: str = "", tls_server_name: str = "",
                 token: str = "", token_file: str = "") -> None:
        servers = [s.strip() for s in (server.split(",") if isinstance(server, str) else server)]
        if not servers or not all(isinstance(s, str) and s for s in servers):
            raise ValueError(f"server must name at least one HOST:PORT, got {server!r}")
        for name, value, minimum in (("seq_len", seq_len, 1), ("batch_size", batch_size, 1),
                                     ("seed", seed, 0), ("rank", rank, 0),
                                     ("world_size", world_size, 1), ("epochs", epochs, 0),
                                     ("prefetch_batches", prefetch_batches, 1)):
            _check_int(name, value, minimum)
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
        if dtype not in (None, "uint16", "int32"):
            raise ValueError(f"dtype must be None, 'uint16' or 'int32', got {dtype!r}")
        _check_seconds("retry_deadline", retry_deadline)
        for name, value in (("tokenizer", tokenizer), ("cursor", cursor), ("mix", mix),
                            ("filter_preset", filter_preset)):
            _check_str(name, value)
        for name, value in (("no_dedup", no_dedup), ("doc_boundaries", doc_boundaries)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
        security = _security(tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key,
                             tls_server_name=tls_server_name, token=token, token_file=token_file)
        self._options = dict(
            servers=servers, tokenizer=tokenizer, seq_len=seq_len, batch_size=batch_size,
            seed=seed, rank=rank, world_size=world_size, epochs=epochs, no_dedup=no_dedup,
            filter_preset=filter_preset, doc_boundaries=doc_boundaries, dtype=dtype or "",
            prefetch_batches=prefetch_batches, retry_deadline_s=float(retry_deadline), mix=mix,
            security=security)
        self._cursor = cursor
        self._native: Optional[_reader.Reader] = None
        self._reconnects = 0  # of closed native readers
        self._ended = False

    def __iter__(self) -> "Reader":
        return self

    def __next__(self) -> Batch:
        if self._ended:
            raise StopIteration
        if self._native is None:
            # Opened lazily, so that load_state_dict() before the first batch costs nothing.
            self._native = _reader.Reader(cursor=self._cursor, **self._options)
        item = self._native.next()
        if item is None:
            self._ended = True
            raise StopIteration
        tokens, epoch, step, rank, cursor, doc_starts, address = item
        self._cursor = cursor
        return Batch(tokens, epoch, step, rank, cursor, doc_starts, address)

    @property
    def cursor(self) -> str:
        """The cursor after the last batch returned ("" or the start cursor before the first)."""
        return self._cursor

    @property
    def reconnects(self) -> int:
        """Requests retried after a failure (server restarts, failovers)."""
        return self._reconnects + (self._native.reconnects() if self._native else 0)

    def state_dict(self) -> dict:
        """The stream position, to save with the model: ``{"version": 1, "cursor": str}``.

        The cursor is the same on every rank at the same step, so one rank's state resumes all
        ranks (also after a change of world size).
        """
        return {"version": _STATE_VERSION, "cursor": self._cursor}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continues after the batch ``state`` was taken at (the next batch is the one that
        followed it then). A cursor of another plan fails at the next batch with
        FAILED_PRECONDITION."""
        self._cursor = _cursor_from_state(state)
        self.close()
        self._ended = False

    def close(self) -> None:
        """Cancels the stream and stops the prefetch thread; iterating again reopens it at
        ``cursor``."""
        if self._native is not None:
            self._reconnects += self._native.reconnects()
            self._native.close()
            self._native = None

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_native", None) is not None:
            self.close()


def server_info(server: str, timeout: float = 10.0, *, tls_ca: str = "", tls_cert: str = "",
                tls_key: str = "", tls_server_name: str = "", token: str = "",
                token_file: str = "") -> dict:
    """What the server at ``"HOST:PORT"`` holds: dataset version, documents, limits, and its
    tokenizers (``name``, ``vocab_size``, ``eos_id``, ``ready``, ...), as in GetInfo. The
    security arguments are the Reader's.

    Waits up to ``timeout`` seconds for a server that is starting; then raises
    ``ShardstreamError`` (UNAVAILABLE or DEADLINE_EXCEEDED).
    """
    _check_str("server", server)
    _check_seconds("timeout", timeout)
    return _reader.server_info(server, float(timeout), _security(
        tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key, tls_server_name=tls_server_name,
        token=token, token_file=token_file))


def _check_int(name: str, value: Any, minimum: int) -> None:
    # bool is an int in Python, but True is not a sequence length.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _check_seconds(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value}")


def _check_str(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")


def _security(**options: str) -> Dict[str, str]:
    for name, value in options.items():
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"{name} must be a str or path, not {type(value).__name__}")
    security = {name: os.fspath(value) for name, value in options.items() if value}
    _reader.check_security(security)  # ValueError now rather than at the first batch
    return security


def _cursor_from_state(state: Mapping[str, Any]) -> str:
    if state.get("version") != _STATE_VERSION or not isinstance(state.get("cursor"), str):
        raise ValueError(f"not a shardstream state (want version {_STATE_VERSION} and a cursor "
                         f"string): {dict(state)!r}")
    return state["cursor"]
