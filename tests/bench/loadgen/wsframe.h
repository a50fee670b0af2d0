#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// The client side of RFC 6455 framing, as much of it as a load generator needs: masked frames
// out, unmasked (or masked) frames in, and the opening handshake.
namespace WsFrame {

enum Opcode : uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

struct Frame
{
    Opcode opcode = Text;
    bool fin = true;
    std::string_view payload;
};

// Appends one masked client frame carrying payload to out.
void appendClientFrame(std::string &out, Opcode opcode, std::string_view payload, uint32_t maskKey);

// Reads one frame from the start of data. Returns its size in bytes, 0 when more bytes are
// needed, or -1 when the bytes are not a valid frame. A masked payload is unmasked in place.
long parse(char *data, size_t size, Frame &frame);

std::string base64(const uint8_t *data, size_t size);

std::string handshakeRequest(std::string_view host, int port, std::string_view path,
                             std::string_view key);

} // namespace WsFrame
