#include "crypto/session_ciphers.hpp"

namespace porthop::crypto {

namespace {
Direction other(Direction d) { return d == Direction::upstream ? Direction::downstream : Direction::upstream; }
}  // namespace

std::optional<Header> parse_session_header(std::span<const std::byte> datagram) {
    if (datagram.empty()) return std::nullopt;
    auto version = std::to_integer<uint8_t>(datagram[0]);
    auto suite = static_cast<uint8_t>(version & ~kPieceFlag);
    if (suite != kVersion && suite != kAesGcmVersion) return std::nullopt;
    return parse_header(datagram, version);
}

SessionCiphers::SessionCiphers(const Key& psk, Direction tx, bool aes_gcm)
    : aes_gcm_(aes_gcm),
      tx_(psk, tx),
      rx_(psk, other(tx)),
      notice_(psk, Direction::downstream, Purpose::notice),
      aes_tx_master_(derive_key(psk, tx, Purpose::aes_gcm)),
      aes_rx_master_(derive_key(psk, other(tx), Purpose::aes_gcm)) {}

void SessionCiphers::use_aes_gcm(SessionKeys& keys, uint64_t id) const {
    if (!keys.tx_ready) keys.tx.derive(aes_tx_master_, id);
    derive_rx(keys, id);
    keys.tx_ready = true;
    keys.suite = Suite::aes256gcm;
}

void SessionCiphers::derive_rx(SessionKeys& keys, uint64_t id) const {
    if (keys.rx_ready) return;
    keys.rx.derive(aes_rx_master_, id);
    keys.rx_ready = true;
}

std::span<std::byte> SessionCiphers::seal_notice(std::byte* payload, uint64_t id) const {
    payload[0] = std::byte{kAesGcmVersion};
    uint64_t counter = 0;
    randombytes_buf(&counter, sizeof counter);
    return notice_.seal(payload, kNoticePayload, id, counter, kNoticeVersion);
}

bool SessionCiphers::is_aes_gcm_refusal(std::span<std::byte> datagram, uint64_t id) const {
    auto h = parse_header(datagram, kNoticeVersion);
    if (!h || h->session_id != id) return false;
    auto plain = notice_.open(datagram, *h);
    return plain && plain->size() == kNoticePayload && (*plain)[0] == std::byte{kAesGcmVersion};
}

}  // namespace porthop::crypto
