// shardstream._reader: the C++ client Reader for Python (pybind11). The Python package
// (shardstream/__init__.py) wraps it in a typed, documented API; this module only moves data.
//
// Zero copy: each received Batch message is moved to the heap and owned by a capsule that is
// the NumPy arrays' base, so `tokens` and `doc_starts` view the message's own buffers and the
// message lives exactly as long as the last array viewing it. The GIL is released while Next()
// waits for the network (in 0.1 s slices, checking for signals between them) and while the
// reader shuts down.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/client_security.h"
#include "client/reader.h"
#include "client/server_info.h"
#include "common/deadlock_detection.h"

namespace py = pybind11;

namespace shardstream {
namespace {

// Raises shardstream.ShardstreamError(code_name, message) (defined in Python, so that it has
// type hints and docs). Never returns.
[[noreturn]] void RaiseStatus(const absl::Status& status) {
  py::object error_class = py::module_::import("shardstream.errors").attr("ShardstreamError");
  py::object error =
      error_class(absl::StatusCodeToString(status.code()), std::string(status.message()));
  PyErr_SetObject(error_class.ptr(), error.ptr());
  throw py::error_already_set();
}

v1::TokenDtype ParseDtype(const std::string& dtype) {
  if (dtype.empty()) return v1::TOKEN_DTYPE_UNSPECIFIED;
  if (dtype == "uint16") return v1::TOKEN_DTYPE_UINT16;
  if (dtype == "int32") return v1::TOKEN_DTYPE_INT32;
  throw py::value_error(absl::StrCat("dtype must be None, 'uint16' or 'int32', not '", dtype, "'"));
}

// TLS, mutual TLS and the token, from the Python keyword arguments of the same names.
ClientSecurity SecurityOf(const std::map<std::string, std::string>& security) {
  ClientSecurity out;
  for (const auto& [key, value] : security) {
    if (key == "tls_ca") {
      out.tls_ca_file = value;
    } else if (key == "tls_cert") {
      out.tls_cert_file = value;
    } else if (key == "tls_key") {
      out.tls_key_file = value;
    } else if (key == "tls_server_name") {
      out.tls_server_name = value;
    } else if (key == "token") {
      out.token = value;
    } else if (key == "token_file") {
      out.token_file = value;
    } else {
      throw py::value_error(absl::StrCat("unknown security option ", key));
    }
  }
  if (absl::Status s = out.Validate(); !s.ok()) throw py::value_error(std::string(s.message()));
  return out;
}

// (tokens, epoch, step, rank, cursor, doc_starts or None, buffer address) for one batch.
py::tuple BatchToTuple(std::unique_ptr<v1::Batch> owned) {
  v1::Batch* batch = owned.release();
  py::capsule owner(batch, [](void* p) { delete static_cast<v1::Batch*>(p); });
  const bool wide = batch->dtype() == v1::TOKEN_DTYPE_INT32;
  const py::ssize_t item = wide ? 4 : 2, rows = batch->rows(), seq_len = batch->seq_len();
  std::string* bytes = batch->mutable_tokens();
  if (bytes->size() != static_cast<size_t>(rows * seq_len * item)) {
    RaiseStatus(absl::DataLossError(absl::StrCat("batch holds ", bytes->size(), " bytes, not ",
                                                 rows, " x ", seq_len, " x ", item)));
  }
  // Explicitly little-endian: the wire format; NumPy swaps on access on a big-endian host.
  py::array tokens(py::dtype(wide ? "<i4" : "<u2"), {rows, seq_len}, {seq_len * item, item},
                   bytes->data(), owner);
  py::object doc_starts = py::none();
  if (batch->doc_starts_size() > 0) {
    py::list per_row;
    for (v1::RowStarts& row : *batch->mutable_doc_starts()) {
      per_row.append(py::array_t<uint32_t>({static_cast<py::ssize_t>(row.offsets_size())},
                                           row.mutable_offsets()->mutable_data(), owner));
    }
    doc_starts = per_row;
  }
  return py::make_tuple(tokens, batch->epoch(), batch->step(), batch->rank(), batch->cursor(),
                        doc_starts, reinterpret_cast<uintptr_t>(bytes->data()));
}

// One C++ Reader. Not thread-safe (like Reader): the Python wrapper uses it from one thread.
class PyReader {
 public:
  PyReader(std::vector<std::string> servers, const std::string& tokenizer, uint32_t seq_len,
           uint32_t batch_size, uint64_t seed, uint32_t rank, uint32_t world_size, uint64_t epochs,
           const std::string& cursor, bool no_dedup, const std::string& filter_preset,
           bool doc_boundaries, const std::string& dtype, size_t prefetch_batches,
           double retry_deadline_s, const std::string& mix,
           const std::map<std::string, std::string>& security) {
    ReaderOptions options;
    options.servers = std::move(servers);
    options.security = SecurityOf(security);
    v1::StreamRequest& r = options.request;
    r.set_tokenizer(tokenizer);
    r.set_seq_len(seq_len);
    r.set_batch_size(batch_size);
    r.set_seed(seed);
    r.set_rank(rank);
    r.set_world_size(world_size);
    r.set_epochs(epochs);
    r.set_start_cursor(cursor);
    r.set_no_dedup(no_dedup);
    r.set_filter_preset(filter_preset);
    r.set_doc_boundaries(doc_boundaries);
    r.set_dtype(ParseDtype(dtype));
    r.set_mix(mix);
    options.prefetch_batches = prefetch_batches;
    options.retry_deadline = absl::Seconds(retry_deadline_s);
    // Argument mistakes the caller can see before any connection: ValueError.
    if (absl::Status s = options.Validate(); !s.ok())
      throw py::value_error(std::string(s.message()));
    auto reader = Reader::Open(std::move(options));
    if (!reader.ok()) RaiseStatus(reader.status());
    reader_ = std::move(*reader);
  }

  // The next batch as a tuple, or None when the stream has ended.
  py::object Next() {
    if (reader_ == nullptr) throw py::value_error("the reader is closed");
    auto batch = std::make_unique<v1::Batch>();
    absl::StatusOr<bool> more;
    while (true) {
      {
        py::gil_scoped_release release;
        more = reader_->NextWithin(batch.get(), absl::Milliseconds(100));
      }
      if (!absl::IsDeadlineExceeded(more.status())) break;
      // Waiting in slices, so Ctrl-C (SIGINT's Python handler) raises KeyboardInterrupt here
      // within ~0.1 s instead of after the retry deadline.
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
    if (!more.ok()) RaiseStatus(more.status());
    if (!*more) return py::none();
    return BatchToTuple(std::move(batch));
  }

  std::string Cursor() const { return reader_ == nullptr ? std::string() : reader_->cursor(); }
  uint64_t Reconnects() const { return reader_ == nullptr ? 0 : reader_->reconnects(); }

  // Cancels the stream and joins the prefetch thread. Idempotent.
  void Close() {
    py::gil_scoped_release release;
    reader_.reset();
  }

 private:
  std::unique_ptr<Reader> reader_;
};

// GetInfo as a dict (field names as in shard_service.proto).
py::dict ServerInfo(const std::string& server, double timeout_s,
                    const std::map<std::string, std::string>& security) {
  const ClientSecurity options = SecurityOf(security);
  absl::StatusOr<v1::GetInfoResponse> info;
  {
    py::gil_scoped_release release;
    info = GetServerInfo(server, absl::Seconds(timeout_s), options);
  }
  if (!info.ok()) RaiseStatus(info.status());
  py::list tokenizers;
  for (const v1::TokenizerInfo& t : info->tokenizers()) {
    py::dict d;
    d["name"] = t.name();
    d["fingerprint"] = t.fingerprint();
    d["vocab_size"] = t.vocab_size();
    d["eos_id"] = t.eos_id();
    d["docs"] = t.docs();
    d["tokens"] = t.tokens();
    d["ready"] = t.ready();
    d["files_done"] = t.files_done();
    d["files"] = t.files();
    tokenizers.append(d);
  }
  py::dict d;
  d["server_version"] = info->server_version();
  d["dataset_version"] = info->dataset_version();
  d["text_field"] = info->text_field();
  d["files"] = info->files();
  d["docs"] = info->docs();
  d["tokenizers"] = tokenizers;
  d["max_streams"] = info->max_streams();
  d["active_streams"] = info->active_streams();
  d["max_seq_len"] = info->max_seq_len();
  d["max_batch_tokens"] = info->max_batch_tokens();
  d["partitions"] = info->partitions();
  d["held_partitions"] = std::vector<uint32_t>(info->held_partitions().begin(),
                                               info->held_partitions().end());
  py::list parts;
  for (const v1::PartInfo& p : info->parts()) {
    py::dict part;
    part["source"] = p.source();
    part["partition"] = p.partition();
    part["version"] = p.version();
    part["files"] = p.files();
    part["docs"] = p.docs();
    parts.append(part);
  }
  d["parts"] = parts;
  d["previous_versions"] = std::vector<std::string>(info->previous_versions().begin(),
                                                    info->previous_versions().end());
  return d;
}

}  // namespace
}  // namespace shardstream

PYBIND11_MODULE(_reader, m) {
  shardstream::SkipMutexDeadlockDetection();  // a debugging aid of Debian's Abseil: not here
  m.doc() = "The shardstream C++ client Reader (use the shardstream package, not this module).";
  py::class_<shardstream::PyReader>(m, "Reader")
      .def(py::init<std::vector<std::string>, const std::string&, uint32_t, uint32_t, uint64_t,
                    uint32_t, uint32_t, uint64_t, const std::string&, bool, const std::string&,
                    bool, const std::string&, size_t, double, const std::string&,
                    const std::map<std::string, std::string>&>(),
           py::arg("servers"), py::arg("tokenizer"), py::arg("seq_len"), py::arg("batch_size"),
           py::arg("seed"), py::arg("rank"), py::arg("world_size"), py::arg("epochs"),
           py::arg("cursor"), py::arg("no_dedup"), py::arg("filter_preset"),
           py::arg("doc_boundaries"), py::arg("dtype"), py::arg("prefetch_batches"),
           py::arg("retry_deadline_s"), py::arg("mix"), py::arg("security"))
      .def("next", &shardstream::PyReader::Next)
      .def("cursor", &shardstream::PyReader::Cursor)
      .def("reconnects", &shardstream::PyReader::Reconnects)
      .def("close", &shardstream::PyReader::Close);
  m.def(
      "check_security",
      [](const std::map<std::string, std::string>& security) {
        shardstream::SecurityOf(security);
      },
      py::arg("security"), "Raises ValueError for inconsistent TLS/token options.");
  m.def("server_info", &shardstream::ServerInfo, py::arg("server"), py::arg("timeout_s"),
        py::arg("security"));
}
