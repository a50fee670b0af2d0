#include "wsframe.h"

#include <cstring>

namespace WsFrame {

void appendClientFrame(std::string &out, Opcode opcode, std::string_view payload, uint32_t maskKey)
{
    uint8_t header[14];
    size_t headerSize = 2;
    header[0] = uint8_t(0x80 | opcode);
    const uint64_t length = payload.size();
    if (length < 126) {
        header[1] = uint8_t(0x80 | length);
    } else if (length <= 0xFFFF) {
        header[1] = 0x80 | 126;
        header[2] = uint8_t(length >> 8);
        header[3] = uint8_t(length);
        headerSize = 4;
    } else {
        header[1] = 0x80 | 127;
        for (int i = 0; i < 8; ++i)
            header[2 + i] = uint8_t(length >> (56 - 8 * i));
        headerSize = 10;
    }
    uint8_t mask[4]
        = {uint8_t(maskKey >> 24), uint8_t(maskKey >> 16), uint8_t(maskKey >> 8), uint8_t(maskKey)};
    std::memcpy(header + headerSize, mask, 4);
    headerSize += 4;

    const size_t start = out.size();
    out.resize(start + headerSize + length);
    char *dest = out.data() + start;
    std::memcpy(dest, header, headerSize);
    dest += headerSize;
    for (size_t i = 0; i < length; ++i)
        dest[i] = char(uint8_t(payload[i]) ^ mask[i & 3]);
}

long parse(char *data, size_t size, Frame &frame)
{
    if (size < 2)
        return 0;
    const auto *bytes = reinterpret_cast<const uint8_t *>(data);
    if (bytes[0] & 0x70)
        return -1; // no extension was negotiated, so reserved bits must be clear
    frame.fin = (bytes[0] & 0x80) != 0;
    frame.opcode = Opcode(bytes[0] & 0x0F);
    const bool masked = (bytes[1] & 0x80) != 0;
    uint64_t length = bytes[1] & 0x7F;
    size_t offset = 2;
    if (length == 126) {
        if (size < 4)
            return 0;
        length = (uint64_t(bytes[2]) << 8) | bytes[3];
        offset = 4;
    } else if (length == 127) {
        if (size < 10)
            return 0;
        length = 0;
        for (int i = 0; i < 8; ++i)
            length = (length << 8) | bytes[2 + i];
        offset = 10;
        if (length > (uint64_t(1) << 40))
            return -1;
    }
    uint8_t mask[4] = {};
    if (masked) {
        if (size < offset + 4)
            return 0;
        std::memcpy(mask, bytes + offset, 4);
        offset += 4;
    }
    if (size < offset + length)
        return 0;
    char *payload = data + offset;
    if (masked) {
        for (uint64_t i = 0; i < length; ++i)
            payload[i] = char(uint8_t(payload[i]) ^ mask[i & 3]);
    }
    frame.payload = std::string_view(payload, size_t(length));
    return long(offset + length);
}

std::string base64(const uint8_t *data, size_t size)
{
    static const char alphabet[]
        = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (size_t i = 0; i < size; i += 3) {
        uint32_t chunk = uint32_t(data[i]) << 16;
        if (i + 1 < size)
            chunk |= uint32_t(data[i + 1]) << 8;
        if (i + 2 < size)
            chunk |= data[i + 2];
        out += alphabet[(chunk >> 18) & 63];
        out += alphabet[(chunk >> 12) & 63];
        out += i + 1 < size ? alphabet[(chunk >> 6) & 63] : '=';
        out += i + 2 < size ? alphabet[chunk & 63] : '=';
    }
    return out;
}

std::string handshakeRequest(std::string_view host, int port, std::string_view path,
                             std::string_view key)
{
    std::string request;
    request.reserve(256);
    request += "GET ";
    request += path;
    request += " HTTP/1.1\r\nHost: ";
    request += host;
    request += ':';
    request += std::to_string(port);
    request += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
    request += key;
    request += "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    return request;
}

} // namespace WsFrame
