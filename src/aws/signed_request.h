// SignRequest: SigV4 for a Boost.Beast request, as an AWS client signs one
// (faultline's own clients of the emulator and, later, of AWS). Kept apart
// from sigv4.h, which has no Beast, so that clang-tidy checks the signer.
//
// Thread-safety: a pure function of its arguments.
#ifndef FAULTLINE_AWS_SIGNED_REQUEST_H_
#define FAULTLINE_AWS_SIGNED_REQUEST_H_

#include <string_view>

#include "aws/sigv4.h"
#include "faultline/status.h"
#include "http/asio.h"

namespace faultline::aws {

// Signs `req` for `service` in `region` at `now`: sets Host (from `host`,
// "127.0.0.1:3001", when the request has none) and the headers Sign returns.
// Every header already on the request is signed; set them all first.
Status SignRequest(http::Request& req, std::string_view host, const Credentials& credentials,
                   std::string_view region, std::string_view service, TimeNs now);

}  // namespace faultline::aws

#endif  // FAULTLINE_AWS_SIGNED_REQUEST_H_
