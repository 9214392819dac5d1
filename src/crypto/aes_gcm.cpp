#include "crypto/aes_gcm.hpp"

#include <openssl/core_names.h>
#include <openssl/params.h>
#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include <array>
#include <cstdlib>
#include <new>
#include <stdexcept>

namespace porthop::crypto {

namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "porthgcm";
static_assert(crypto_aead_aes256gcm_KEYBYTES == kKeySize);
static_assert(crypto_aead_aes256gcm_NPUBBYTES == 12);
static_assert(crypto_aead_aes256gcm_ABYTES == kTagSize);

// nonce = 4 zero bytes || counter (big endian): unique because the key is
// the session's own and its counter never repeats.
std::array<unsigned char, 12> make_nonce(uint64_t counter) {
    std::array<unsigned char, 12> n{};
    for (int i = 11; i >= 4; --i) {
        n[static_cast<size_t>(i)] = static_cast<unsigned char>(counter & 0xff);
        counter >>= 8;
    }
    return n;
}

unsigned char* uc(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }
int len_int(size_t n) { return static_cast<int>(n); }

}  // namespace

bool aes_gcm_available() {
    const char* off = std::getenv("PORTHOP_NO_AESGCM");
    if (off != nullptr && *off != '\0') return false;
#if defined(__aarch64__)
    // ARMv8's crypto extensions, which OpenSSL uses; without them (a
    // Cortex-A72 router, say) its table-free AES is slower than XChaCha20.
    const unsigned long hw = getauxval(AT_HWCAP);
    return (hw & HWCAP_AES) != 0 && (hw & HWCAP_PMULL) != 0;
#else
    return crypto_aead_aes256gcm_is_available() == 1;  // AES-NI and PCLMUL
#endif
}

void AesGcmKey::derive(const Key& master, uint64_t session_id) {
    // A context keyed before keeps its cipher: re-keying it (the server
    // relay's scratch key, once per unknown session id) neither allocates
    // nor looks the cipher up again.
    const EVP_CIPHER* cipher = nullptr;
    if (!ctx_) {
        ctx_.reset(EVP_CIPHER_CTX_new());
        if (!ctx_) throw std::bad_alloc();
        cipher = EVP_aes_256_gcm();
    }
    Key key;
    crypto_kdf_derive_from_key(key.bytes.data(), key.bytes.size(), session_id, kKdfContext, master.bytes.data());
    if (EVP_EncryptInit_ex2(ctx_.get(), cipher, key.bytes.data(), nullptr, nullptr) != 1) {
        throw std::runtime_error("OpenSSL refused an AES-256-GCM key (libcrypto without AES-GCM?)");
    }
    sodium_ready_ = crypto_aead_aes256gcm_is_available() == 1;
    if (sodium_ready_) crypto_aead_aes256gcm_beforenm(&sodium_, key.bytes.data());
}

// The tag goes through an OSSL_PARAM built here rather than
// EVP_CIPHER_CTX_ctrl, which builds one and looks the name up on every call
// (BM_AesGcmSeal/1200 in one run: 931 ns with ctrl, 523 without).
// Every call below can fail only on misuse (no key, a length over INT_MAX),
// which the relays never do: their results are not checked on the hot path
// except the tag's.
std::span<std::byte> AesGcmKey::seal(std::byte* payload, size_t len, uint64_t session_id, uint64_t counter,
                                     uint8_t version) const {
    std::byte* header = payload - kHeaderSize;
    put_header(header, version, session_id, counter);
    auto nonce = make_nonce(counter);
    if (short_in_libsodium(len)) {
        crypto_aead_aes256gcm_encrypt_detached_afternm(uc(payload), uc(payload + len), nullptr, uc(payload), len,
                                                       uc(header), kHeaderSize, nullptr, nonce.data(), &sodium_);
        return {header, len + kOverhead};
    }
    EVP_CIPHER_CTX* ctx = ctx_.get();
    int out = 0;
    EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data(), 1);
    EVP_EncryptUpdate(ctx, nullptr, &out, uc(header), len_int(kHeaderSize));
    EVP_EncryptUpdate(ctx, uc(payload), &out, uc(payload), len_int(len));
    EVP_EncryptFinal_ex(ctx, uc(payload + len), &out);
    std::array<OSSL_PARAM, 2> tag{
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, payload + len, kTagSize),
        OSSL_PARAM_construct_end()};
    EVP_CIPHER_CTX_get_params(ctx, tag.data());
    return {header, len + kOverhead};
}

std::optional<std::span<std::byte>> AesGcmKey::open(std::span<std::byte> datagram, const Header& h) const {
    if (datagram.size() < kOverhead || !ctx_) return std::nullopt;
    std::byte* body = datagram.data() + kHeaderSize;
    size_t len = datagram.size() - kOverhead;
    auto nonce = make_nonce(h.counter);
    if (short_in_libsodium(len)) {
        if (crypto_aead_aes256gcm_decrypt_detached_afternm(uc(body), nullptr, uc(body), len, uc(body + len),
                                                           uc(datagram.data()), kHeaderSize, nonce.data(),
                                                           &sodium_) != 0) {
            return std::nullopt;
        }
        return std::span<std::byte>(body, len);
    }
    EVP_CIPHER_CTX* ctx = ctx_.get();
    int out = 0;
    EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data(), 0);
    EVP_DecryptUpdate(ctx, nullptr, &out, uc(datagram.data()), len_int(kHeaderSize));
    EVP_DecryptUpdate(ctx, uc(body), &out, uc(body), len_int(len));
    std::array<OSSL_PARAM, 2> tag{OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, body + len, kTagSize),
                                  OSSL_PARAM_construct_end()};
    EVP_CIPHER_CTX_set_params(ctx, tag.data());
    if (EVP_DecryptFinal_ex(ctx, uc(body + len), &out) != 1) return std::nullopt;
    return std::span<std::byte>(body, len);
}

}  // namespace porthop::crypto
