"""The exception every shardstream failure arrives as."""


class ShardstreamError(Exception):
    """A failed stream: the server's (or the client's) gRPC status and its message.

    ``code`` is the gRPC status name and says what to do:

    - ``INVALID_ARGUMENT``: fix the request (the message names the field);
    - ``NOT_FOUND``: the server has no such tokenizer;
    - ``FAILED_PRECONDITION``: fix the state first (tokenizer not fully tokenized, a cursor of
      another plan, too little data for one global batch);
    - ``UNAVAILABLE``: no server answered within ``retry_deadline`` (the reader already retried,
      with backoff, on every server it was given).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def __reduce__(self):  # picklable, e.g. across DataLoader workers
        return (type(self), (self.code, self.message))
