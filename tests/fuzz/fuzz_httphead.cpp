// Feeds arbitrary bytes to the browser client's HTTP request-head parser, and what it reads to
// the responder, the way a connection's first bytes reach them.

#include "fuzzcheck.h"
#include "httpresponder.h"

#include <QByteArray>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const HttpResponder responder([] {
        HttpResponder::Status status;
        status.name = QStringLiteral("LanChat");
        return status;
    });

    const QByteArray bytes(reinterpret_cast<const char *>(data), qsizetype(size));
    const qsizetype length = HttpResponder::headLength(bytes);
    FUZZ_CHECK(length == -1 || (length >= 4 && length <= bytes.size()));

    const HttpRequest request = HttpResponder::parse(bytes);
    using Result = HttpRequest::Result;
    // Without its blank line a head is either still coming or refused already: a lone line
    // break or too many bytes mean it can never end well.
    if (length < 0)
        FUZZ_CHECK(request.result == Result::Incomplete || request.result == Result::TooLarge
                   || request.result == Result::Malformed);
    if (request.result == Result::Incomplete)
        FUZZ_CHECK(length < 0 && bytes.size() < HttpResponder::MaxHeadBytes);
    if (request.result == Result::Ok) {
        FUZZ_CHECK(length > 0 && length <= HttpResponder::MaxHeadBytes);
        FUZZ_CHECK(request.path.startsWith('/'));
        FUZZ_CHECK(!request.path.contains('?'));
        FUZZ_CHECK(request.path.size() + request.query.size() <= HttpResponder::MaxTargetBytes);
        FUZZ_CHECK(request.minorVersion == 0 || request.minorVersion == 1);
        FUZZ_CHECK(request.headers.size() <= HttpResponder::MaxHeaders);
        for (const auto &field : request.headers) {
            FUZZ_CHECK(!field.first.isEmpty());
            FUZZ_CHECK(field.first == field.first.toLower());
            // A line break in a value would let one header smuggle in another.
            FUZZ_CHECK(!field.second.contains('\r') && !field.second.contains('\n'));
        }
    }

    const HttpResponder::Response response = responder.respond(request);
    FUZZ_CHECK(response.status >= 200 && response.status < 600);
    const QByteArray answer = response.toBytes();
    FUZZ_CHECK(answer.startsWith("HTTP/1.1 "));
    // Nothing the request carries may reach the answer's head.
    const qsizetype headEnd = answer.indexOf("\r\n\r\n");
    FUZZ_CHECK(headEnd > 0);
    FUZZ_CHECK(answer.first(headEnd).count("\r\n") == response.headers.size());
    return 0;
}
