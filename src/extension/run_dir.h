// RunDir: the directory where the extension leaves the files its wrapper and
// the `faultline faults` commands read (the port files, the control token),
// and the control endpoint's token.
//
//   FAULTLINE_RUN_DIR (default /tmp/faultline-<uid>)
//     --Open: not a symlink, owned by this user, not writable by others
//             (unless sticky); created 0700 if absent
//     --WriteFile: .NAME.tmp-* (O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600)
//                  --renameat--> NAME (a link planted at NAME is replaced,
//                  never followed)
//
// A directory someone else can write to would let them point the runtime at
// a proxy of theirs, or read the token: it is refused, and the extension
// fails open (no files: the wrapper starts the runtime unproxied).
//
// Thread-safety: a RunDir may be used from any thread (its methods only make
// system calls on a descriptor that does not change); the free functions are
// pure or make system calls only.
#ifndef FAULTLINE_EXTENSION_RUN_DIR_H_
#define FAULTLINE_EXTENSION_RUN_DIR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "faultline/status.h"

namespace faultline::extension {

// /tmp/faultline-<effective uid>.
std::string DefaultRunDir();

class RunDir {
 public:
  // Opens the directory at `path` (creating it, mode 0700, if it does not
  // exist; its parent must). Refuses it, naming the path and the reason, if
  // it is a symbolic link or not a directory, is not owned by this process's
  // effective user, or is writable by group or others without the sticky
  // bit.
  static Result<std::unique_ptr<RunDir>> Open(const std::string& path);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::string& path() const { return path_; }
  // `path`/`name`.
  std::string PathOf(std::string_view name) const;
  // Replaces the file `name` (no '/') with `content` in one rename, mode
  // 0600, never following a link. Errors name the file.
  Status WriteFile(std::string_view name, std::string_view content) const;
  // Removes the file `name`, if it is there.
  void Remove(std::string_view name) const;

 private:
  RunDir(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

// A new control token: 32 bytes from the kernel's CSPRNG (getrandom), as 64
// lowercase hex digits.
Result<std::string> NewToken();

// Whether `given` equals `token`, in time that depends only on their
// lengths (not on where they first differ).
bool TokenEquals(std::string_view given, std::string_view token);

// The token in an `Authorization: Bearer <token>` value; nullopt for any
// other value.
std::optional<std::string_view> BearerToken(std::string_view authorization);

// Reads the token file at `path` (not following a link; a regular file of
// at most 1 KiB), trimmed of blanks.
Result<std::string> ReadTokenFile(const std::string& path);

// The token file of the control endpoint at 127.0.0.1:`port` among the
// files in `run_dir`: the faultline-token-<key> next to the
// faultline-control-<key> that holds that address; nullopt if no control
// port file names it.
std::optional<std::string> FindTokenFile(const std::string& run_dir, std::uint16_t port);

// Where a client of the control endpoint at 127.0.0.1:`port` finds its
// token, in this order: a token given explicitly (a flag, an experiment's
// argument), FAULTLINE_CONTROL_TOKEN's value, the token file FindTokenFile
// finds in the run directory. The caller reads the environment, so that
// this stays free of it (and tests pass values).
struct TokenSource {
  std::string given;                   // wins when not empty
  std::string given_name = "--token";  // how `where` names it
  std::string env;                     // FAULTLINE_CONTROL_TOKEN
  std::string run_dir;                 // FAULTLINE_RUN_DIR; empty: DefaultRunDir()
};

// The token, or "" when none is found (the endpoint then answers 401);
// *where says what was used ("--token", "FAULTLINE_CONTROL_TOKEN", the
// token file's path) or where it looked, for messages.
std::string ControlToken(const TokenSource& source, std::uint16_t port, std::string* where);

}  // namespace faultline::extension

#endif  // FAULTLINE_EXTENSION_RUN_DIR_H_
