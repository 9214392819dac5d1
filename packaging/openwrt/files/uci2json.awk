# porthop: one section of a UCI config (the /etc/config/porthop syntax, or
# what `uci export porthop` prints) as the JSON object porthop --config takes.
#
#   uci -q -n export porthop | awk -v section=main -f uci2json.awk > main.json
#
# Option names map '_' to '-' (hop_interval -> "hop-interval"). Counts
# (max_sessions, new_session_rate, mtu, hop_bytes, sndbuf, rcvbuf) become JSON numbers when they are
# digits, flags (hop_on_slowdown, no_offload) JSON booleans from UCI's 1/0, yes/no,
# on/off, true/false, enabled/disabled; anything else stays a string, so
# porthop itself rejects a bad value with a message naming the option.
# 'enabled' is the init script's and is left out; a 'list' is joined with
# commas. Exits 1, with a message on stderr, when the section is missing.
# POSIX awk only: it runs under busybox awk on OpenWrt.

BEGIN {
    if (section == "") { print "uci2json: give -v section=NAME" > "/dev/stderr"; failed = 1; exit 1 }
    counts["max_sessions"] = 1; counts["new_session_rate"] = 1; counts["mtu"] = 1; counts["hop_bytes"] = 1; counts["sndbuf"] = 1; counts["rcvbuf"] = 1
    flags["hop_on_slowdown"] = 1; flags["no_offload"] = 1
    n = 0; found = 0; current = ""
}

# Splits line into words[1..nwords] the way uci reads them: '...' literal,
# "..." with backslash escapes, bare words with backslash escapes, adjacent
# pieces joined ('a'\''b' is a'b), # outside quotes starts a comment.
function tokenize(line,    i, c, q, word, inword) {
    nwords = 0; word = ""; inword = 0; q = ""
    for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (q == "'") {
            if (c == "'") q = ""; else word = word c
        } else if (q == "\"") {
            if (c == "\\" && i < length(line)) { i++; word = word substr(line, i, 1) }
            else if (c == "\"") q = ""
            else word = word c
        } else if (c == "'" || c == "\"") {
            q = c; inword = 1
        } else if (c == "\\" && i < length(line)) {
            i++; word = word substr(line, i, 1); inword = 1
        } else if (c == " " || c == "\t" || c == "\r") {
            if (inword) { words[++nwords] = word; word = ""; inword = 0 }
        } else if (c == "#" && !inword) {
            break
        } else {
            word = word c; inword = 1
        }
    }
    if (inword) words[++nwords] = word
    if (q != "") return 0
    return 1
}

function json_string(s,    out, i, c) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") out = out "\\\\"
        else if (c == "\"") out = out "\\\""
        else if (c == "\t") out = out "\\t"
        else if (c == "\n") out = out "\\n"
        else if (c == "\r") out = out "\\r"
        else out = out c
    }
    return "\"" out "\""
}

function json_value(name, value,    v) {
    if (name in counts && value ~ /^[0-9]+$/) {
        sub(/^0+/, "", value)
        return value == "" ? "0" : value
    }
    if (name in flags) {
        v = tolower(value)
        if (v == "1" || v == "yes" || v == "on" || v == "true" || v == "enabled") return "true"
        if (v == "0" || v == "no" || v == "off" || v == "false" || v == "disabled") return "false"
    }
    return json_string(value)
}

{
    if (!tokenize($0)) {
        printf "uci2json: line %d: unterminated quote\n", NR > "/dev/stderr"; failed = 1; exit 1
    }
    if (nwords == 0) next
    if (words[1] == "package") next
    if (words[1] == "config") { current = (nwords >= 3 ? words[3] : ""); if (current == section) found = 1; next }
    if (current != section) next
    if ((words[1] == "option" || words[1] == "list") && nwords >= 2) {
        name = words[2]
        value = nwords >= 3 ? words[3] : ""
        if (name == "enabled") next
        if (!(name in seen)) { seen[name] = 1; order[++n] = name; values[name] = value; islist[name] = (words[1] == "list") }
        else if (words[1] == "list" && islist[name]) values[name] = values[name] "," value
        else { values[name] = value; islist[name] = 0 }
    }
}

END {
    if (failed) exit 1
    if (!found) { printf "uci2json: no section '%s' in the config\n", section > "/dev/stderr"; exit 1 }
    print "{"
    for (i = 1; i <= n; i++) {
        key = order[i]
        gsub(/_/, "-", key)
        printf "  %s: %s%s\n", json_string(key), json_value(order[i], values[order[i]]), (i < n ? "," : "")
    }
    print "}"
}
