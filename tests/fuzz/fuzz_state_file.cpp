// The --state-file reader (src/relay/session_state_file.hpp): any text
// through parse_state_file, as either relay in either mode, never crashes,
// never throws, and gives only sessions a relay can take back (a port to
// bind, a peer; in session mode an id and a send counter beyond 0); each is
// then restored into a session-mode state (the replay window refilled up to
// its newest counter), which must refuse that counter again.
#include <chrono>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "relay/framing_session.hpp"
#include "relay/session_state_file.hpp"

using namespace porthop;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop_fuzz::setup();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    porthop_fuzz::Reader r(data, size);
    const uint8_t pick = r.u8();
    const std::string role = (pick & 1) != 0 ? "client" : "server";
    const std::string mode = (pick & 2) != 0 ? "session" : "plain";
    auto rest = r.rest();
    std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
    // The seeds were saved at 1800000000 (unix time); 60 s idle timeout.
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'010));
    std::string why;
    relay::StateFile file = relay::parse_state_file(text, role, mode, now, std::chrono::seconds(60), why);
    FUZZ_CHECK(file.sessions.empty() || why.empty());
    for (const relay::SavedSession& s : file.sessions) {
        FUZZ_CHECK(s.upstream_port != 0);
        FUZZ_CHECK(!s.peer.empty());
        if (mode == "session") {
            FUZZ_CHECK(s.send_next != 0);
            FUZZ_CHECK(s.send_next < (uint64_t{1} << 62) && s.recv_newest < (uint64_t{1} << 62));
            relay::SessionFraming::State state = relay::SessionFraming::restore_counters(s);
            FUZZ_CHECK(state.id == s.id && state.send_counter == s.send_next);
            FUZZ_CHECK(!state.window.check(s.recv_newest));
            FUZZ_CHECK(state.window.check(s.recv_newest + 1));
        }
    }
    return 0;
}
