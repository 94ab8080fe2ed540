// Minimal status propagation macros. Debian 12's Abseil (20220623) ships none, so the project
// keeps exactly these two; use them everywhere instead of ad-hoc early returns.
#ifndef SHARDSTREAM_COMMON_STATUS_MACROS_H_
#define SHARDSTREAM_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SS_CONCAT_INNER_(a, b) a##b
#define SS_CONCAT_(a, b) SS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    ::absl::Status ss_status_ = (expr);      \
    if (!ss_status_.ok()) return ss_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F())` assigns the value of a StatusOr or returns its status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(SS_CONCAT_(ss_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()

#endif  // SHARDSTREAM_COMMON_STATUS_MACROS_H_
