// A request written out as HTTP/1.1 text: the SigV4 test suite's .req files,
// and the files faultline_sigv4_check reads. For tests only.
//
//   POST /path?query HTTP/1.1      request line (the target may hold spaces:
//   Host:example.amazonaws.com     the suite's get-space case has one)
//   My-Header: value               "Name:value"; a line that starts with white
//     continued                    space continues the value before it
//                                  an empty line, then the body, verbatim
//
// Lines end in "\n" or "\r\n".
//
// Thread-safety: values; ParseRequestFile is pure.
#ifndef FAULTLINE_AWS_REQUEST_FILE_H_
#define FAULTLINE_AWS_REQUEST_FILE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/sigv4.h"
#include "faultline/status.h"

namespace faultline::aws {

struct RequestFile {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // A view of this request; `storage` holds its headers' views. Both this
  // and `storage` must outlive the view.
  RequestView View(std::vector<Header>& storage) const;
};

// Errors (kInvalidArgument) name `name` and the line.
Result<RequestFile> ParseRequestFile(std::string_view text, std::string_view name);

}  // namespace faultline::aws

#endif  // FAULTLINE_AWS_REQUEST_FILE_H_
