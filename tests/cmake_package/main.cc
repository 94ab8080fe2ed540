// Opens a Reader against a server that is not there and expects it to give up with
// UNAVAILABLE after its retry deadline: proves the installed headers, the generated messages
// and the library link and work outside the source tree.
#include <iostream>

#include "client/reader.h"

int main() {
  shardstream::ReaderOptions options;
  options.servers = {"127.0.0.1:1"};  // nothing listens on port 1
  options.request.set_tokenizer("gpt2");
  options.request.set_seq_len(8);
  options.request.set_batch_size(1);
  options.retry_deadline = absl::Milliseconds(300);
  auto reader = shardstream::Reader::Open(options);
  if (!reader.ok()) return 1;
  shardstream::v1::Batch batch;
  absl::StatusOr<bool> next = (*reader)->Next(&batch);
  std::cout << next.status() << "\n";
  return absl::IsUnavailable(next.status()) ? 0 : 1;
}
