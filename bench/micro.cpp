// Google Benchmark micro-benchmarks for the per-datagram pieces of the relay
// hot path: session lookup, hop decision, header seal / open, GSO planning,
// send queue push / flush, send_batch with and without GSO; and, off the
// hot path, the cost of one /metrics scrape (prometheus-cpp). Built
// against porthop's own sources (bench/CMakeLists.txt), never changing them.
//
//   build-bench/porthop_micro [--benchmark_format=json ...]

#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "crypto/session_ciphers.hpp"
#include "crypto/session_crypto.hpp"
#include "metrics/process_collector.hpp"
#include "metrics/registry.hpp"
#include "metrics/registry_collector.hpp"
#include "metrics/text_format.hpp"
#include "net/address.hpp"
#include "net/batch_io.hpp"
#include "net/offload.hpp"
#include "net/send_queue.hpp"
#include "net/udp_socket.hpp"
#include "relay/hop_schedule.hpp"
#include "relay/rng.hpp"
#include "relay/session_table.hpp"

using namespace porthop;

namespace {

struct FakeSession {
    TimePoint last_active;
    uint64_t packets = 0;
};

// Peers as a client relay sees them: one LAN host, many source ports, plus
// a few hosts.
std::vector<net::Address> make_peers(size_t n) {
    std::vector<net::Address> peers;
    peers.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        std::string ip = "10.1." + std::to_string((i / 50000) % 250) + "." + std::to_string(1 + i % 7);
        peers.push_back(*net::Address::parse_ip(ip, uint16_t(10000 + (i % 50000))));
    }
    return peers;
}

void BM_AddressHash(benchmark::State& state) {
    auto peers = make_peers(1024);
    size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(peers[i++ & 1023].hash());
    }
}
BENCHMARK(BM_AddressHash);

void BM_AddressEqual(benchmark::State& state) {
    auto peers = make_peers(2);
    net::Address a = peers[0], b = peers[0];
    for (auto _ : state) {
        benchmark::DoNotOptimize(a == b);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_AddressEqual);

// SessionTable::find for a peer that has a session (every datagram but a
// session's first), with N sessions in the table; lookups walk the peers in a
// shuffled order so that the cache sees a realistic spread.
void BM_SessionTableFindHit(benchmark::State& state) {
    const size_t n = size_t(state.range(0));
    metrics::Registry metrics;
    relay::SessionTable<FakeSession> table(metrics, n + 1);
    auto peers = make_peers(n);
    for (auto& p : peers) table.insert(p, std::make_unique<FakeSession>());
    relay::Rng rng(42);
    std::vector<uint32_t> order(4096);
    for (auto& o : order) o = uint32_t(rng.below(n));
    size_t i = 0;
    for (auto _ : state) {
        FakeSession* s = table.find(peers[order[i++ & 4095]]);
        benchmark::DoNotOptimize(s);
    }
}
BENCHMARK(BM_SessionTableFindHit)->Arg(1)->Arg(100)->Arg(10000);

// The same datagram source again and again (one busy QUIC flow: the
// common case at a high packet rate).
void BM_SessionTableFindSamePeer(benchmark::State& state) {
    metrics::Registry metrics;
    relay::SessionTable<FakeSession> table(metrics, 20000);
    auto peers = make_peers(10000);
    for (auto& p : peers) table.insert(p, std::make_unique<FakeSession>());
    const net::Address peer = peers[1234];
    for (auto _ : state) {
        benchmark::DoNotOptimize(table.find(peer));
    }
}
BENCHMARK(BM_SessionTableFindSamePeer);

void BM_SessionTableFindMiss(benchmark::State& state) {
    metrics::Registry metrics;
    relay::SessionTable<FakeSession> table(metrics, 20000);
    auto peers = make_peers(10000);
    for (auto& p : peers) table.insert(p, std::make_unique<FakeSession>());
    net::Address stranger = *net::Address::parse_ip("192.0.2.1", 4242);
    for (auto _ : state) {
        benchmark::DoNotOptimize(table.find(stranger));
    }
}
BENCHMARK(BM_SessionTableFindMiss);

// The bare container the table wraps, for comparison.
void BM_UnorderedMapFindHit(benchmark::State& state) {
    const size_t n = size_t(state.range(0));
    std::unordered_map<net::Address, std::unique_ptr<FakeSession>, net::AddressHash> map;
    auto peers = make_peers(n);
    for (auto& p : peers) map.emplace(p, std::make_unique<FakeSession>());
    relay::Rng rng(42);
    std::vector<uint32_t> order(4096);
    for (auto& o : order) o = uint32_t(rng.below(n));
    size_t i = 0;
    for (auto _ : state) {
        auto it = map.find(peers[order[i++ & 4095]]);
        benchmark::DoNotOptimize(it);
    }
}
BENCHMARK(BM_UnorderedMapFindHit)->Arg(1)->Arg(100)->Arg(10000);

// Insert + erase: the cost of a session's birth and death in the table.
void BM_SessionTableInsertExpire(benchmark::State& state) {
    metrics::Registry metrics;
    relay::SessionTable<FakeSession> table(metrics, 1 << 20);
    auto peers = make_peers(1000);
    TimePoint t0{};
    for (auto _ : state) {
        for (auto& p : peers) {
            auto s = std::make_unique<FakeSession>();
            s->last_active = t0;
            table.insert(p, std::move(s));
        }
        table.expire(t0 + std::chrono::seconds(61), std::chrono::seconds(60), [](const FakeSession&) { return false; });
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * 1000);
}
BENCHMARK(BM_SessionTableInsertExpire);

// HopSchedule::before_send on a datagram that does not hop (the common case).
void BM_HopBeforeSendNoHop(benchmark::State& state) {
    std::vector<uint16_t> ports;
    for (uint16_t p = 20000; p < 20050; ++p) ports.push_back(p);
    relay::Rng rng(7);
    relay::HopPolicy policy;
    policy.interval = Duration(1000);
    policy.jitter = Duration(200);
    TimePoint now = Clock::now();
    relay::HopSchedule hop(policy, ports, rng, now);
    for (auto _ : state) {
        auto r = hop.before_send(now, 1200);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_HopBeforeSendNoHop);

// A datagram that triggers a hop every time (the interval has passed).
void BM_HopBeforeSendHop(benchmark::State& state) {
    std::vector<uint16_t> ports;
    for (uint16_t p = 20000; p < 20050; ++p) ports.push_back(p);
    relay::Rng rng(7);
    relay::HopPolicy policy;
    policy.interval = Duration(1000);
    policy.jitter = Duration(200);
    TimePoint now = Clock::now();
    relay::HopSchedule hop(policy, ports, rng, now);
    for (auto _ : state) {
        now += std::chrono::seconds(2);
        auto r = hop.before_send(now, 1200);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_HopBeforeSendHop);

// Reading the clock, which the relays do once per batch.
void BM_SteadyClockNow(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(Clock::now());
}
BENCHMARK(BM_SteadyClockNow);

// SendQueue::push of one datagram (size = arg) into a queue that is then
// emptied without a system call, so that only the copy-in is measured.
void BM_SendQueuePush(benchmark::State& state) {
    const size_t size = size_t(state.range(0));
    net::QueueBudget budget(64 << 20);
    std::vector<std::byte> payload(size, std::byte{1});
    net::Address to = *net::Address::parse_ip("10.0.0.2", 20000);
    auto d = net::OutDatagram::make(payload, &to);
    // Queues are recreated every 64 pushes (their ring is allocated on the
    // first push, as in the relay when a socket first says EAGAIN).
    for (auto _ : state) {
        state.PauseTiming();
        auto q = std::make_unique<net::SendQueue>(256 << 10, budget);
        state.ResumeTiming();
        for (int i = 0; i < 64; ++i) benchmark::DoNotOptimize(q->push(d));
        state.PauseTiming();
        q.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * 64);
    state.SetBytesProcessed(int64_t(state.iterations()) * 64 * int64_t(size));
}
BENCHMARK(BM_SendQueuePush)->Arg(64)->Arg(1200);

// push 64 datagrams then flush them with sendmmsg into a connected UDP
// socket on loopback, drained by the reader (drain not timed). This is the
// congested path: a datagram that met EAGAIN once.
void BM_SendQueuePushFlush(benchmark::State& state) {
    const size_t size = size_t(state.range(0));
    net::QueueBudget budget(64 << 20);
    net::SendQueue q(256 << 10, budget);
    std::vector<std::byte> payload(size, std::byte{1});

    auto loop = *net::Address::parse_ip("127.0.0.1", 0);
    net::UdpSocket rx = net::UdpSocket::open(AF_INET);
    rx.set_buffer_sizes(0, 8 << 20);
    rx.bind(loop);
    net::UdpSocket tx = net::UdpSocket::open(AF_INET);
    tx.set_buffer_sizes(8 << 20, 0);
    tx.connect(rx.local_address());
    auto d = net::OutDatagram::make(payload, nullptr);
    net::RecvBatch batch;
    for (auto _ : state) {
        for (int i = 0; i < 64; ++i) q.push(d);
        auto r = q.flush(tx);
        benchmark::DoNotOptimize(r);
        state.PauseTiming();
        size_t got = 0;
        while (got < r.sent) {
            auto res = batch.receive(rx);
            if (res.count == 0) break;
            got += res.count;
        }
        state.ResumeTiming();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * 64);
}
BENCHMARK(BM_SendQueuePushFlush)->Arg(64)->Arg(1200);

// The uncongested path for comparison: send_batch of 64 datagrams straight
// from their buffers (what the relay does when the kernel takes them).
// Second argument 1: with GSO (runs of same-size datagrams as one
// UDP_SEGMENT message; segmented again on delivery to the receiver).
void BM_SendBatchDirect(benchmark::State& state) {
    const size_t size = size_t(state.range(0));
    std::vector<std::byte> payload(size, std::byte{1});
    auto loop = *net::Address::parse_ip("127.0.0.1", 0);
    net::UdpSocket rx = net::UdpSocket::open(AF_INET);
    rx.set_buffer_sizes(0, 8 << 20);
    rx.bind(loop);
    net::UdpSocket tx = net::UdpSocket::open(AF_INET);
    tx.set_buffer_sizes(8 << 20, 0);
    tx.connect(rx.local_address());
    tx.set_gso(state.range(1) != 0 && net::gso_supported(tx));
    if (state.range(1) != 0 && !tx.gso()) state.SkipWithError("no UDP_SEGMENT in this kernel");
    std::array<net::OutDatagram, 64> msgs;
    msgs.fill(net::OutDatagram::make(payload, nullptr));
    net::RecvBatch batch;
    for (auto _ : state) {
        auto r = net::send_batch(tx, msgs);
        benchmark::DoNotOptimize(r);
        state.PauseTiming();
        size_t got = 0;
        while (got < r.sent) {
            auto res = batch.receive(rx);
            if (res.count == 0) break;
            got += res.count;
        }
        state.ResumeTiming();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * 64);
}
BENCHMARK(BM_SendBatchDirect)->Args({64, 0})->Args({64, 1})->Args({1200, 0})->Args({1200, 1});

// Planning a GSO message: how many of 64 same-size datagrams to one
// destination go together.
void BM_GsoRun(benchmark::State& state) {
    std::vector<std::byte> payload(1200, std::byte{1});
    auto to = *net::Address::parse_ip("10.0.0.1", 20000);
    std::array<net::OutDatagram, 64> msgs;
    msgs.fill(net::OutDatagram::make(payload, &to));
    for (auto _ : state) {
        size_t n = 0;
        for (size_t at = 0; at < msgs.size(); at += n) n = net::gso_run(std::span(msgs).subspan(at));
        benchmark::DoNotOptimize(n);
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * 64);
}
BENCHMARK(BM_GsoRun);

// Session mode's framing of one datagram, in place: header + XChaCha20-
// Poly1305 seal, and parse + open (tag check and decryption).
struct Framing {
    crypto::Key psk = [] {
        crypto::init();
        return crypto::generate_key();
    }();
    crypto::Cipher cipher{psk, crypto::Direction::upstream};
    std::vector<std::byte> buf;
    std::byte* payload;
    explicit Framing(size_t size) : buf(crypto::kHeaderSize + size + crypto::kTagSize, std::byte{3}) {
        payload = buf.data() + crypto::kHeaderSize;
    }
};

void BM_HeaderSeal(benchmark::State& state) {
    const size_t size = size_t(state.range(0));
    Framing f(size);
    uint64_t counter = 0;
    for (auto _ : state) {
        auto framed = f.cipher.seal(f.payload, size, 42, counter++);
        benchmark::DoNotOptimize(framed.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}
BENCHMARK(BM_HeaderSeal)->Arg(64)->Arg(1200);

void BM_HeaderOpen(benchmark::State& state) {
    const size_t size = size_t(state.range(0));
    Framing f(size);
    auto framed = f.cipher.seal(f.payload, size, 42, 7);
    std::vector<std::byte> sealed(framed.begin(), framed.end());
    for (auto _ : state) {
        // open decrypts in place: a fresh copy each time (a memcpy of the
        // datagram, timed too: PauseTiming would cost more than it)
        std::copy(sealed.begin(), sealed.end(), f.buf.begin());
        auto h = crypto::parse_header(std::span(f.buf));
        auto plain = f.cipher.open(std::span(f.buf), *h);
        if (!plain) state.SkipWithError("the tag did not verify");
        benchmark::DoNotOptimize(plain);
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}
BENCHMARK(BM_HeaderOpen)->Arg(64)->Arg(1200);

// The same through crypto::SessionCiphers in AES-256-GCM (version 3): the
// session's own precomputed keys, nonce = the counter.
struct AesFraming : Framing {
    crypto::SessionCiphers tx{psk, crypto::Direction::upstream, true};
    crypto::SessionCiphers rx{psk, crypto::Direction::downstream, true};
    crypto::SessionKeys tx_keys, rx_keys;
    explicit AesFraming(size_t size) : Framing(size) {
        tx.use_aes_gcm(tx_keys, 42);
        rx.use_aes_gcm(rx_keys, 42);
    }
};

void BM_AesGcmSeal(benchmark::State& state) {
    crypto::init();  // before the CPU check (libsodium reads the CPU features in init)
    if (!crypto::aes_gcm_available()) return state.SkipWithError("no AES-256-GCM on this CPU");
    const size_t size = size_t(state.range(0));
    AesFraming f(size);
    uint64_t counter = 0;
    for (auto _ : state) {
        auto framed = f.tx.seal(f.tx_keys, f.payload, size, 42, counter++);
        benchmark::DoNotOptimize(framed.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}
BENCHMARK(BM_AesGcmSeal)->Arg(64)->Arg(1200);

// A seal after the thread slept 1 ms, as a relay's at light load (one
// datagram per wake-up): what the loop above cannot show, since it keeps
// every cache line and the vector units warm. Second argument 1: the same
// seal in libsodium's AES-256-GCM instead (a pre-expanded key), for
// comparison (docs/bench.md, "Lone datagrams").
void BM_AesGcmSealAfterIdle(benchmark::State& state) {
    crypto::init();  // before the CPU check (libsodium reads the CPU features in init)
    if (!crypto::aes_gcm_available()) return state.SkipWithError("no AES-256-GCM on this CPU");
    const size_t size = size_t(state.range(0));
    const bool sodium = state.range(1) != 0;
    AesFraming f(size);
    crypto_aead_aes256gcm_state st;
    std::array<unsigned char, crypto_aead_aes256gcm_KEYBYTES> key{};
    randombytes_buf(key.data(), key.size());
    crypto_aead_aes256gcm_beforenm(&st, key.data());
    std::array<unsigned char, crypto_aead_aes256gcm_NPUBBYTES> nonce{};
    uint64_t counter = 0;
    for (auto _ : state) {
        usleep(1000);
        // Timed by hand: PauseTiming/ResumeTiming would run their own cold
        // code inside the measurement.
        auto t0 = std::chrono::steady_clock::now();
        if (sodium) {
            auto* p = reinterpret_cast<unsigned char*>(f.payload);
            nonce[11] = static_cast<unsigned char>(++counter);
            crypto_aead_aes256gcm_encrypt_detached_afternm(p, p + size, nullptr, p, size, p - crypto::kHeaderSize,
                                                           crypto::kHeaderSize, nullptr, nonce.data(), &st);
            benchmark::DoNotOptimize(p);
        } else {
            auto framed = f.tx.seal(f.tx_keys, f.payload, size, 42, counter++);
            benchmark::DoNotOptimize(framed.data());
        }
        auto t1 = std::chrono::steady_clock::now();
        state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    }
}
BENCHMARK(BM_AesGcmSealAfterIdle)->ArgsProduct({{64, 1200}, {0, 1}})->Iterations(1000)->UseManualTime();

void BM_AesGcmOpen(benchmark::State& state) {
    crypto::init();  // before the CPU check (libsodium reads the CPU features in init)
    if (!crypto::aes_gcm_available()) return state.SkipWithError("no AES-256-GCM on this CPU");
    const size_t size = size_t(state.range(0));
    AesFraming f(size);
    auto framed = f.tx.seal(f.tx_keys, f.payload, size, 42, 7);
    std::vector<std::byte> sealed(framed.begin(), framed.end());
    for (auto _ : state) {
        std::copy(sealed.begin(), sealed.end(), f.buf.begin());
        auto h = crypto::parse_session_header(std::span(f.buf));
        auto plain = f.rx.open(f.rx_keys, std::span(f.buf), *h);
        if (!plain) state.SkipWithError("the tag did not verify");
        benchmark::DoNotOptimize(plain);
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}
BENCHMARK(BM_AesGcmOpen)->Arg(64)->Arg(1200);

// What a server relay spends on a version-3 datagram of an id it does not
// know: derive the session's receiving key, then the tag check (which fails
// here, as for a flood of garbage).
void BM_AesGcmUnknownSession(benchmark::State& state) {
    crypto::init();  // before the CPU check (libsodium reads the CPU features in init)
    if (!crypto::aes_gcm_available()) return state.SkipWithError("no AES-256-GCM on this CPU");
    AesFraming f(1200);
    auto framed = f.tx.seal(f.tx_keys, f.payload, 1200, 42, 7);
    std::vector<std::byte> sealed(framed.begin(), framed.end());
    uint64_t id = 1000;
    for (auto _ : state) {
        std::copy(sealed.begin(), sealed.end(), f.buf.begin());
        crypto::SessionKeys keys;
        f.rx.derive_rx(keys, ++id);
        auto h = crypto::parse_session_header(std::span(f.buf));
        auto plain = f.rx.open(keys, std::span(f.buf), *h);
        benchmark::DoNotOptimize(plain);
    }
}
BENCHMARK(BM_AesGcmUnknownSession);

// A relay's registry after some traffic, with `sessions` open. The series do
// not depend on the number of sessions (no per-session series): the argument
// shows that the scrape costs the same.
metrics::Registry busy_registry(int64_t sessions) {
    metrics::Registry r;
    r.relayed(metrics::Direction::upstream, 123456789, 150000000000);
    r.relayed(metrics::Direction::downstream, 98765432, 120000000000);
    r.drop(metrics::DropReason::queue_full, 12345);
    r.add(metrics::Family::hops, metrics::HopReason::interval, 4321);
    r.set(metrics::Family::sessions, uint64_t(sessions));
    r.add(metrics::Family::sessions_opened, uint64_t(sessions));
    return r;
}

// The /metrics body without the process_* families: collect and serialize.
void BM_MetricsText(benchmark::State& state) {
    const metrics::Registry r = busy_registry(state.range(0));
    const metrics::RegistryCollector collector(r, {"0.1.0", "client", "plain"});
    size_t bytes = 0;
    for (auto _ : state) {
        std::string text = metrics::to_text({&collector});
        bytes = text.size();
        benchmark::DoNotOptimize(text.data());
    }
    state.counters["bytes"] = double(bytes);
}
BENCHMARK(BM_MetricsText)->Arg(1)->Arg(1000);

// A whole scrape's body as /metrics builds it, /proc reads included.
void BM_MetricsScrape(benchmark::State& state) {
    const metrics::Registry r = busy_registry(state.range(0));
    const metrics::RegistryCollector collector(r, {"0.1.0", "client", "plain"});
    const metrics::ProcessCollector process;
    size_t bytes = 0;
    for (auto _ : state) {
        std::string text = metrics::to_text({&collector, &process});
        bytes = text.size();
        benchmark::DoNotOptimize(text.data());
    }
    state.counters["bytes"] = double(bytes);
}
BENCHMARK(BM_MetricsScrape)->Arg(1)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
