// The local emulator's AWS credentials: one access key id and secret,
// created on first start and kept in an AWS shared-credentials file that
// only their owner can read, so that
//
//   AWS_SHARED_CREDENTIALS_FILE=<dir>/credentials AWS_PROFILE=faultline
//
// is all boto3, the aws CLI and chaostoolkit-aws need to sign requests the
// emulator will accept (it verifies them with sigv4.h's Verify).
//
// The file, <dir>/credentials (mode 0600, in a directory of mode 0700):
//
//   # faultline's local Lambda emulator: ...
//   [faultline]
//   aws_access_key_id = AKIA0123456789ABCDEF
//   aws_secret_access_key = <40 characters>
//
// Both the directory and the file are refused, with an error naming the path
// and what is wrong, if they are a symbolic link, not owned by the effective
// user, or accessible to group or others. The file is written to a temporary
// file in the same directory (created O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC,
// mode 0600) and renamed into place without replacing an existing one, so
// two processes starting at once end up with the same credentials.
//
// Thread-safety: the functions share no state; call from any thread. Several
// processes may call LoadOrCreateCredentials on the same directory at once.
#ifndef FAULTLINE_AWS_CREDENTIALS_H_
#define FAULTLINE_AWS_CREDENTIALS_H_

#include <cstddef>
#include <cstdlib>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "aws/sigv4.h"
#include "faultline/status.h"

namespace faultline::aws {

// The profile name in the credentials file.
inline constexpr std::string_view kProfile = "faultline";

// Fills `out` with random bytes, or says why it cannot.
using RandomBytes = std::function<Status(std::span<unsigned char> out)>;

// The operating system's entropy (getrandom(2)).
Status SystemRandomBytes(std::span<unsigned char> out);

// Reads a value of the environment; returns nullptr when unset.
using GetEnv = std::function<const char*(const char* name)>;

// The default directory: $XDG_CONFIG_HOME/faultline when XDG_CONFIG_HOME is
// set to an absolute path, else $HOME/.config/faultline, else the home
// directory of the effective user (from the password database) +
// /.config/faultline. kNotFound if there is no home directory at all.
Result<std::string> DefaultCredentialsDir(const GetEnv& getenv = ::getenv);

struct CredentialsOptions {
  RandomBytes random = SystemRandomBytes;  // for new keys
};

// The credentials in `dir`/credentials, creating them (and `dir`, mode 0700,
// with any missing parents, also 0700) on first use. A new access key id is
// "AKIA" and 16 characters of A-Z 0-9; a new secret is 40 characters of
// A-Z a-z 0-9 + /; both from `options.random`.
// Errors: kInvalidArgument for an unsafe directory or file (see the top of
// this file), or a file without the profile's two keys (naming file and
// line); kIoError when the system refuses (naming the path and the call).
Result<Credentials> LoadOrCreateCredentials(const std::string& dir,
                                            const CredentialsOptions& options = {});

// The path of the credentials file in `dir`.
std::string CredentialsFilePath(const std::string& dir);

// Shell lines for `eval "$(faultline lambda env)"`, every value single-quoted:
//   export AWS_ACCESS_KEY_ID='...'
//   export AWS_SECRET_ACCESS_KEY='...'
//   export AWS_SESSION_TOKEN='...'        (only when there is a token)
//   export AWS_DEFAULT_REGION='<region>'  (boto3, the aws CLI)
//   export AWS_REGION='<region>'          (the JavaScript, Go and Java SDKs)
//   export AWS_ENDPOINT_URL_LAMBDA='<url>'  (only when endpoint_url is set)
std::string RenderKeyExports(const Credentials& credentials, std::string_view region,
                             std::string_view endpoint_url = {});

// The same for the profile form, which keeps the secret out of the
// environment:
//   export AWS_SHARED_CREDENTIALS_FILE='<credentials_file>'
//   export AWS_PROFILE='faultline'
//   export AWS_DEFAULT_REGION='<region>'
//   export AWS_REGION='<region>'
//   export AWS_ENDPOINT_URL_LAMBDA='<url>'  (only when endpoint_url is set)
std::string RenderProfileExports(std::string_view credentials_file, std::string_view region,
                                 std::string_view endpoint_url = {});

}  // namespace faultline::aws

#endif  // FAULTLINE_AWS_CREDENTIALS_H_
