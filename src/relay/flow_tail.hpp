#pragma once
// The tails of a session's old ISP flows (docs/design.md, "Hop schedule",
// "Tails"), as pure logic for the hop schedule. After the client relay hops,
// the flow it left keeps carrying replies until the server relay hears the
// session on its new port: the ISP counts that tail (bytes and time) on the
// old flow, after the budget the schedule enforced. FlowTail measures, per
// session, how far each old flow ran past the point where the schedule meant
// to hop: the bytes past the trigger when the hop came and the time past the
// deadline that it still carried replies (a hop happens at the next send),
// plus the bytes and time of its tail (replies from its port after the
// hop). The schedule then hops that much earlier.
// A tail counts once the next flow answered (its first reply): until then
// the old flow may simply be all the session has, when the new port is
// blocked, and the stall hop that follows discards that tail.
//
// Smoothing: a sample above the estimate raises it at once (an ISP that saw
// one flow too long has already throttled it); a sample below lowers it by
// 1/kDecay of the difference when its flow leaves the window of the last
// kFlows flows, so one short tail does not undo the margin. The margin is the
// estimate times kSafety (replies the ISP counted but dropped after counting
// never reach the relay). The floor is the schedule's: it never hops before
// kMinShare of the interval or byte budget, whatever the margin.

#include <array>
#include <cmath>
#include <cstdint>

#include "io/clock.hpp"

namespace porthop::relay {

class FlowTail {
public:
    static constexpr size_t kFlows = 4;
    static constexpr double kDecay = 8;
    static constexpr double kSafety = 1.25;

    // The session left the flow on `port` at `now`, `bytes_past` bytes and
    // `late` after its trigger (its last reply after the deadline; 0 when it
    // carried nothing past either).
    void left(uint16_t port, TimePoint now, uint64_t bytes_past, Clock::duration late);

    // `bytes` came from `port` at `now`: the tail of a flow left recently, if
    // one of the last kFlows was on that port. True when the margins changed.
    bool arrived(uint16_t port, uint64_t bytes, TimePoint now);

    // The flow after the newest one left answered: that one's tail counts.
    // True when the margins changed.
    bool successor_answered();

    // How much earlier than its budget and deadline the schedule hops.
    uint64_t byte_margin() const { return static_cast<uint64_t>(std::llround(bytes_ * kSafety)); }
    Clock::duration time_margin() const {
        return std::chrono::round<Clock::duration>(std::chrono::duration<double>(seconds_ * kSafety));
    }

private:
    struct Flow {
        bool used = false;
        bool confirmed = false;  // the next flow answered: the tail counts
        uint16_t port = 0;
        TimePoint left_at;
        uint64_t past = 0;        // bytes past the trigger when the hop came
        double late = 0;          // seconds past the deadline when the hop came
        uint64_t tail_bytes = 0;  // replies from its port since
        double tail_seconds = 0;  // the last of them, after the hop
        uint64_t bytes() const { return past + (confirmed ? tail_bytes : 0); }
        double seconds() const { return late + (confirmed ? tail_seconds : 0); }
    };
    // True when the estimate grew.
    bool raise(const Flow& f);
    void settle(const Flow& f);

    std::array<Flow, kFlows> flows_{};
    size_t next_ = 0;
    double bytes_ = 0;    // estimate: bytes an old flow runs past its trigger
    double seconds_ = 0;  // estimate: time it runs past its deadline
};

}  // namespace porthop::relay
