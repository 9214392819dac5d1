// Specification of ADDR and HOST on the command line (docs/design.md, "The
// contract"): ADDR is an IP literal, IPv6 in brackets; HOST is an ADDR or a DNS
// name resolved at start.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config_test_helpers.hpp"

namespace porthop::config {
namespace {

Options client(const std::string& listen, const std::string& server) {
    return run({"client", "--listen", listen, "--server", server});
}

Options server(const std::string& listen, const std::string& upstream) {
    return run({"server", "--listen", listen, "--upstream", upstream});
}

bool is_loopback(const net::Address& a) { return a.ip_string() == "127.0.0.1" || a.ip_string() == "::1"; }

TEST(ConfigAddress, ListenAcceptsIpv4AndBracketedIpv6Literals) {
    const struct {
        const char* text;
        const char* canonical;
        bool v6;
    } cases[] = {
        {"10.0.0.1:4433", "10.0.0.1:4433", false},
        {"0.0.0.0:1", "0.0.0.0:1", false},
        {"127.0.0.1:65535", "127.0.0.1:65535", false},
        {"[::1]:4433", "[::1]:4433", true},
        {"[::]:4433", "[::]:4433", true},
        {"[2001:db8::5]:80", "[2001:db8::5]:80", true},
    };
    for (const auto& c : cases) {
        Options o = client(c.text, "192.0.2.1:20000");
        EXPECT_EQ(o.listen.to_string(), c.canonical) << c.text;
        EXPECT_EQ(o.listen.is_v6(), c.v6) << c.text;
    }
}

TEST(ConfigAddress, ListenRejectsNamesUnbracketedIpv6AndBadPorts) {
    const char* cases[] = {"localhost:4433", "::1:4433",   "[::1]",        "[::1]:",       "10.0.0.1:", "10.0.0.1:0",
                           "10.0.0.1:65536", "10.0.0.1:x", "10.0.0.256:1", "[10.0.0.1]:1", ":4433",     ""};
    for (const char* text : cases) {
        std::string message = error_of({"client", "--listen", text, "--server", "192.0.2.1:20000"});
        EXPECT_EQ(message.rfind("--listen: ", 0), 0u) << '"' << text << "\" gave: " << message;
    }
}

TEST(ConfigAddress, ServerListenTakesAnAddressAndAPortSet) {
    Options o = server("0.0.0.0:20000-20999", "127.0.0.1:443");
    EXPECT_EQ(o.listen_ip.to_string(), "0.0.0.0:0");
    EXPECT_EQ(o.listen_ports.size(), 1000u);
}

TEST(ConfigAddress, ServerListenMustBeALiteral) {
    EXPECT_EQ(error_of({"server", "--listen", "localhost:20000", "--upstream", "127.0.0.1:443"})
                  .rfind("--listen: \"localhost\" is not an IP address", 0),
              0u);
}

TEST(ConfigAddress, ServerHostMayBeAnIpv4OrBracketedIpv6Literal) {
    EXPECT_EQ(client("127.0.0.1:1", "198.51.100.7:20000").server_ip.ip_string(), "198.51.100.7");
    Options o = client("127.0.0.1:1", "[2001:db8::1]:20000-20001");
    EXPECT_EQ(o.server_ip.ip_string(), "2001:db8::1");
    EXPECT_EQ(o.server_ip.port(), 0);
    EXPECT_EQ(o.server_ports.to_string(), "20000-20001");
}

TEST(ConfigAddress, ServerHostMayBeADnsName) {
    Options o = client("127.0.0.1:1", "localhost:20000-20999");
    EXPECT_TRUE(is_loopback(o.server_ip)) << o.server_ip.to_string();
    EXPECT_EQ(o.server_ip.port(), 0);
    EXPECT_EQ(o.server_ports.size(), 1000u);
}

TEST(ConfigAddress, ServerHostThatDoesNotResolveIsAnError) {
    std::string message = error_of({"client", "--listen", "127.0.0.1:1", "--server", "no-such-host.invalid:20000"});
    EXPECT_EQ(message.rfind("--server: cannot resolve host \"no-such-host.invalid\": ", 0), 0u) << message;
}

TEST(ConfigAddress, UpstreamMayBeALiteralOrADnsName) {
    EXPECT_EQ(server("0.0.0.0:20000", "192.0.2.9:443").upstream.to_string(), "192.0.2.9:443");
    EXPECT_EQ(server("0.0.0.0:20000", "[::1]:8443").upstream.to_string(), "[::1]:8443");
    Options o = server("0.0.0.0:20000", "localhost:443");
    EXPECT_TRUE(is_loopback(o.upstream)) << o.upstream.to_string();
    EXPECT_EQ(o.upstream.port(), 443);
}

TEST(ConfigAddress, UpstreamThatDoesNotResolveIsAnError) {
    std::string message = error_of({"server", "--listen", "0.0.0.0:20000", "--upstream", "no-such-host.invalid:443"});
    EXPECT_EQ(message.rfind("--upstream: cannot resolve host \"no-such-host.invalid\": ", 0), 0u) << message;
}

TEST(ConfigAddress, OtherInvalidValuesAreReportedBeforeHostsAreResolved) {
    std::string message = error_of(
        {"client", "--listen", "127.0.0.1:1", "--server", "no-such-host.invalid:20000", "--hop-jitter", "20s"});
    EXPECT_EQ(message.rfind("--hop-jitter: ", 0), 0u) << message;
}

TEST(ConfigAddress, ClientMayListenOnIpv6AndReachAnIpv4Server) {
    Options o = client("[::1]:4433", "192.0.2.1:20000");
    EXPECT_TRUE(o.listen.is_v6());
    EXPECT_FALSE(o.server_ip.is_v6());
}

TEST(ConfigAddress, PathsNeedAsManyPortsInTheServerSet) {
    std::string message =
        error_of({"client", "--listen", "127.0.0.1:1", "--server", "192.0.2.1:20000-20003", "--paths", "8"});
    EXPECT_EQ(message.rfind("--paths: 8 ", 0), 0u) << message;
    EXPECT_NE(message.find("has 4"), std::string::npos) << message;
    EXPECT_EQ(run({"client", "--listen", "127.0.0.1:1", "--server", "192.0.2.1:20000-20003", "--paths", "4"}).paths,
              4u);
}

TEST(ConfigAddress, PathsAreOneToSixteen) {
    for (const char* bad : {"0", "17"}) {
        std::string message =
            error_of({"client", "--listen", "127.0.0.1:1", "--server", "192.0.2.1:20000-20099", "--paths", bad});
        EXPECT_EQ(message.rfind("--paths", 0), 0u) << message;
    }
    EXPECT_EQ(run({"client", "--listen", "127.0.0.1:1", "--server", "192.0.2.1:20000-20099"}).paths, 1u);
}

}  // namespace
}  // namespace porthop::config
