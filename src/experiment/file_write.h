// Writing the files an experiment run leaves (the journal, the report, the
// state file): every byte written or an error naming the file, and a whole
// file replaced at once.
//
// Internal to faultline. Thread-safety: no shared state.
#ifndef FAULTLINE_EXPERIMENT_FILE_WRITE_H_
#define FAULTLINE_EXPERIMENT_FILE_WRITE_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "faultline/status.h"

namespace faultline::experiment {

// Writes all of `text` to `fd` (a short write or EINTR goes on). IoError
// "path: cannot write: reason".
Status WriteAll(int fd, std::string_view text, const std::string& path);

// Replaces `path` with `text`: a temporary file in the same directory
// (mkstemp: close-on-exec, never another's file), `mode` whatever the
// umask, fsync'd, renamed over `path`; a reader sees the old file or the
// new one, never half of one. Nothing is left behind on an error, which
// names `path`.
Status ReplaceFile(const std::string& path, std::string_view text, mode_t mode);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_FILE_WRITE_H_
