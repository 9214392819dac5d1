#!/usr/bin/env bash
# make lint: the code follows .clang-format, clang-tidy finds nothing in src/
# with the checks of .clang-tidy, and shellcheck passes on every script of the
# repository. Exits non-zero on the first kind of finding, after printing all
# of that kind. BUILD_DIR (default build-lint) holds compile_commands.json.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build-lint}
JOBS=${JOBS:-$(nproc)}
status=0

cxx_files() { git ls-files -- 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'bench/*.cpp' 'bench/*.hpp'; }

# Every tracked shell script: *.sh, and files whose first line names a shell.
shell_scripts() {
    {
        git ls-files -- '*.sh'
        git ls-files -z | xargs -0 grep -lI -m1 -E '^#!.*\b(ba)?sh\b' -- 2>/dev/null || true
    } | sort -u | while read -r f; do
        # Only files whose shebang is on line 1 (a grep hit deeper is prose).
        if [[ $f == *.sh ]] || head -n1 "$f" | grep -qE '^#!.*\b(ba)?sh\b'; then echo "$f"; fi
    done
}

echo "lint: clang-format"
if ! cxx_files | xargs clang-format --dry-run -Werror; then
    echo "lint: clang-format: the files above differ from .clang-format; run: make format" >&2
    status=1
fi

echo "lint: shellcheck"
mapfile -t scripts < <(shell_scripts)
if ! shellcheck -x -P SCRIPTDIR "${scripts[@]}"; then
    echo "lint: shellcheck: fix the findings above (or disable one with a comment that says why)" >&2
    status=1
fi

echo "lint: clang-tidy"
cmake -S . -B "$BUILD_DIR" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DPORTHOP_TESTS=OFF >/dev/null
if ! git ls-files -- 'src/*.cpp' | xargs -P "$JOBS" -n 4 clang-tidy -p "$BUILD_DIR" --quiet 2>/dev/null; then
    echo "lint: clang-tidy: fix the findings above (checks in .clang-tidy)" >&2
    status=1
fi

[ "$status" = 0 ] && echo "lint: clean"
exit "$status"
