#pragma once
// Seals a datagram too large for --mtu as pieces (relay/pieces.hpp): each
// piece's share of the payload is copied once, into a slot of a buffer of
// its own (allocated once, at the first datagram cut), and sealed there in
// place. The pieces go to the sink (an Outbox) like any datagram, so they
// leave in the same sendmmsg/GSO batches and send queue as the rest.
//
// The buffer holds kBatchSize pieces; when it is full the sink is flushed
// (sent or queued: the send queue copies what it keeps) and the buffer is
// reused. So the caller flushes each sink before it hands pieces to another
// one (an Outbox flushes when it goes out of scope).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>

#include "crypto/session_ciphers.hpp"
#include "net/address.hpp"
#include "net/batch_io.hpp"
#include "relay/pieces.hpp"

namespace porthop::relay {

class PieceSealer {
public:
    // `mtu`: no framed piece is larger than the UDP payload it allows.
    explicit PieceSealer(uint32_t mtu) : stride_(mtu) {}

    // Seals `whole` as pieces whose plaintext holds at most `room` bytes
    // each, in the session's cipher (`keys`) with kPieceFlag in the version
    // byte, counters from `counter` on. Returns how many pieces went
    // to `out`; 0 when the datagram cannot be cut that small (nothing sent).
    template <typename Sink>
    size_t seal(const crypto::SessionCiphers& ciphers, const crypto::SessionKeys& keys, uint64_t session,
                uint64_t& counter, std::span<const std::byte> whole, size_t room, const net::Address* to,
                const net::Address* from, Sink& out) {
        std::optional<size_t> count = piece_count(whole.size(), room);
        if (!count) return 0;
        if (!buffer_) buffer_ = std::make_unique<std::byte[]>(net::kBatchSize * stride_);
        PieceHeader h{static_cast<uint32_t>(counter), static_cast<uint16_t>(whole.size()), 0,
                      static_cast<uint8_t>(*count)};
        for (size_t k = 0; k < *count; ++k) {
            h.index = static_cast<uint8_t>(k);
            if (used_ == net::kBatchSize) {
                out.flush();
                used_ = 0;
            }
            std::byte* plain = buffer_.get() + used_++ * stride_ + crypto::kHeaderSize;
            put_piece_header(plain, h);
            std::memcpy(plain + kPieceHeaderSize, whole.data() + h.offset(), h.length());
            auto framed = ciphers.seal(keys, plain, kPieceHeaderSize + h.length(), session, counter++, kPieceFlag);
            out.push(net::OutDatagram::make(framed, to, from));
        }
        return *count;
    }

private:
    size_t stride_;
    size_t used_ = 0;
    std::unique_ptr<std::byte[]> buffer_;
};

}  // namespace porthop::relay
