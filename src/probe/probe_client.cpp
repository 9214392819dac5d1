#include "probe/probe_client.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>
#include <random>

#include "io/clock.hpp"
#include "loop/event_base.hpp"
#include "net/batch_io.hpp"
#include "net/udp_socket.hpp"
#include "probe/probe_wire.hpp"

namespace porthop::probe {

namespace {

// The sample, request and fresh-flow timers all run off this one.
constexpr std::chrono::milliseconds kTick{10};

uint64_t wall_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

class Prober {
public:
    Prober(const config::ProbeOptions& o, const crypto::Key& psk, std::FILE* progress)
        : options_(o),
          keys_(psk),
          progress_(progress),
          base_(loop::make_event_base()),
          rng_(std::random_device{}()),
          tick_(*base_, -1, EV_PERSIST, [this](short) { on_tick(); }) {}

    ProbeResult run() {
        start_ = Clock::now();
        duration_ = options_.duration;
        fast_ = open_flow("long", options_.rate, duration_);
        slow_ = open_flow("long/4", std::max<uint32_t>(1, options_.rate / 4), duration_);
        next_fresh_ = start_ + kFreshEvery / 4;
        last_sample_ = start_;
        last_progress_ = start_;
        send_requests(start_);
        tick_.add(std::chrono::duration_cast<std::chrono::microseconds>(kTick));
        event_base_dispatch(base_.get());
        finish();
        return std::move(result_);
    }

private:
    struct Flow {
        FlowResult result;
        uint32_t rate = 0;
        uint64_t total = 0;
        uint64_t id = 0;
        uint64_t counter = 0;
        crypto::ReplayWindow window;
        net::UdpSocket socket;
        TimePoint start;
        TimePoint end;
        TimePoint last_request;
        uint64_t down_at_sample = 0;
        std::unique_ptr<loop::Event> read_ev;
    };

    std::unique_ptr<Flow> open_flow(const char* label, uint32_t rate, std::chrono::milliseconds life) {
        auto f = std::make_unique<Flow>();
        TimePoint now = Clock::now();
        std::uniform_int_distribution<size_t> pick(0, options_.server_ports.size() - 1);
        uint16_t port = options_.server_ports.ports[pick(rng_)];
        f->result.label = label;
        f->result.port = port;
        f->result.start_s = seconds(now - start_);
        f->result.series.start_s = f->result.start_s;
        f->result.series.requested_rate = rate;
        f->rate = rate;
        // What the whole life of the flow needs and a quarter second more:
        // the server stops there even while requests are still on the way.
        f->total = static_cast<uint64_t>(rate * (std::chrono::duration<double>(life).count() + 0.25));
        f->id = crypto::random_session_id();
        f->start = now;
        f->end = now + life;
        f->socket = net::UdpSocket::open(options_.server_ip.family());
        f->socket.set_buffer_sizes(0, 4 << 20);
        f->socket.connect(options_.server_ip.with_port(port));
        Flow* raw = f.get();
        f->read_ev = std::make_unique<loop::Event>(*base_, f->socket.fd(), EV_READ | EV_PERSIST,
                                                   [this, raw](short) { on_readable(*raw); });
        f->read_ev->add();
        spdlog::debug("flow {} to port {}: {} B/s", label, port, rate);
        return f;
    }

    void send_request(Flow& f, TimePoint now) {
        std::array<std::byte, kRequestDatagram> buf{};
        std::byte* plain = buf.data() + crypto::kHeaderSize;
        size_t len = kRequestDatagram - crypto::kOverhead;
        write_request({plain, len}, Request{static_cast<uint16_t>(kDataDatagram), f.rate, f.total, wall_ms()});
        auto framed = keys_.to_server.seal(plain, len, f.id, f.counter++, crypto::kProbeVersion);
        if (::send(f.socket.fd(), framed.data(), framed.size(), 0) == static_cast<ssize_t>(framed.size())) {
            f.result.up_bytes += framed.size();
        }
        f.last_request = now;
    }

    void send_requests(TimePoint now) {
        for (Flow* f : open_flows()) {
            if (now - f->last_request >= kRequestInterval && now < f->end) send_request(*f, now);
        }
    }

    void on_readable(Flow& f) {
        for (int round = 0; round < 4; ++round) {
            auto r = batch_.receive(f.socket);
            if (r.count == 0) break;
            for (size_t i = 0; i < r.count; ++i) {
                std::span<std::byte> datagram = batch_.payload(i);
                auto header = crypto::parse_header(datagram, crypto::kProbeVersion);
                if (!header || header->session_id != f.id || !f.window.check(header->counter)) {
                    ++result_.rejected;
                    continue;
                }
                auto plain = keys_.to_client.open(datagram, *header);
                std::optional<Data> data = plain ? read_data(*plain) : std::nullopt;
                if (!data) {
                    ++result_.rejected;
                    continue;
                }
                f.window.accept(header->counter);
                f.result.down_bytes += datagram.size();
                f.result.server_received = std::max(f.result.server_received, data->received);
                result_.received_bytes += datagram.size();
                result_.answered = true;
            }
            if (r.count < net::kBatchSize) break;
        }
    }

    std::vector<Flow*> open_flows() {
        std::vector<Flow*> flows{fast_.get(), slow_.get()};
        if (fresh_) flows.push_back(fresh_.get());
        return flows;
    }

    void sample(Flow& f, TimePoint now, double dt) {
        uint64_t down = f.result.down_bytes - f.down_at_sample;
        f.down_at_sample = f.result.down_bytes;
        f.result.series.samples.push_back(Sample{seconds(now - f.start), dt, static_cast<double>(down),
                                                 static_cast<double>(f.result.down_bytes + f.result.up_bytes)});
    }

    void on_tick() {
        TimePoint now = Clock::now();
        if (now - last_sample_ >= kSampleInterval) {
            double dt = seconds(now - last_sample_);
            for (Flow* f : open_flows()) sample(*f, now, dt);
            last_sample_ = now;
            if (fresh_ && now >= fresh_->end) {
                result_.fresh.push_back(std::move(fresh_->result));
                fresh_.reset();
            }
            if (now - last_progress_ >= std::chrono::seconds(1)) {
                show_progress(now);
                last_progress_ = now;
            }
        }
        if (now - start_ >= duration_ || (!result_.answered && now - start_ >= kNoAnswerTimeout)) {
            event_base_loopbreak(base_.get());
            return;
        }
        // Fresh flows start on the sample grid, so that their samples are
        // whole intervals.
        if (!fresh_ && now >= next_fresh_ && now + kFreshLife <= start_ + duration_) {
            fresh_ = open_flow("fresh", options_.rate, kFreshLife);
            fresh_->start = last_sample_;
            fresh_->result.series.start_s = seconds(last_sample_ - start_);
            fresh_->end = last_sample_ + kFreshLife;
            next_fresh_ += kFreshEvery;
        }
        send_requests(now);
    }

    // Rate over the last second of a flow's samples, in Mbit/s.
    static double recent_mbit(const Flow* f) {
        if (f == nullptr) return 0;
        double bytes = 0, time = 0;
        const auto& s = f->result.series.samples;
        for (size_t i = s.size() > 4 ? s.size() - 4 : 0; i < s.size(); ++i) {
            bytes += s[i].down_bytes;
            time += s[i].dt_s;
        }
        return time > 0 ? bytes * 8 / time / 1e6 : 0;
    }

    void show_progress(TimePoint now) {
        if (progress_ == nullptr) return;
        double fresh = result_.fresh.empty() ? 0 : [&] {
            const auto& s = result_.fresh.back().series.samples;
            double b = 0, t = 0;
            for (const auto& x : s) {
                b += x.down_bytes;
                t += x.dt_s;
            }
            return t > 0 ? b * 8 / t / 1e6 : 0.0;
        }();
        std::fprintf(progress_, "probe %5.1fs / %llds  long %6.2f Mbit/s  long/4 %6.2f Mbit/s  fresh %6.2f Mbit/s%s",
                     seconds(now - start_), static_cast<long long>(duration_.count() / 1000), recent_mbit(fast_.get()),
                     recent_mbit(slow_.get()), fresh, isatty(fileno(progress_)) ? "\r" : "\n");
        std::fflush(progress_);
    }

    void finish() {
        if (progress_ != nullptr && isatty(fileno(progress_))) std::fputc('\n', progress_);
        result_.elapsed_s = seconds(Clock::now() - start_);
        result_.fast = std::move(fast_->result);
        result_.slow = std::move(slow_->result);
    }

    const config::ProbeOptions& options_;
    ProbeKeys keys_;
    std::FILE* progress_;
    loop::EventBasePtr base_;
    std::mt19937_64 rng_;
    net::RecvBatch batch_;
    std::unique_ptr<Flow> fast_, slow_, fresh_;
    TimePoint start_, next_fresh_, last_sample_, last_progress_;
    std::chrono::milliseconds duration_{0};
    ProbeResult result_;
    loop::Event tick_;
};

}  // namespace

ProbeResult run_probe(const config::ProbeOptions& options, const crypto::Key& psk, std::FILE* progress) {
    Prober prober(options, psk, progress);
    return prober.run();
}

}  // namespace porthop::probe
