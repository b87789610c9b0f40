# lib.sh: what the CLI tests share.  Each test script sources it, runs
# kkit in a scratch directory and checks exit statuses, messages and
# outputs; a failed check is reported and counted, and finish exits 1
# if there was any.
set -u
: "${KKIT:?run me through make check (KKIT is not set)}"
: "${KKIT_DATA:?}" "${KKIT_TESTDATA:?}"
: "${KKCMP:?}"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kkit-cli-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cd "$scratch" || exit 99
failures=0

fail() {
	echo "FAIL (line ${BASH_LINENO[1]:-?}): $*" >&2
	failures=$((failures + 1))
}

# run ARGS...: run kkit; status, out and err hold what it did.
run() {
	"$KKIT" "$@" >out 2>err
	status=$?
}

expect_status() {
	[ "$status" -eq "$1" ] ||
		fail "kkit exited $status, expected $1; stderr: $(cat err)"
}

# The whole of stderr, exactly.
expect_err() {
	printf '%s\n' "$1" | cmp -s - err ||
		fail "stderr was: $(cat err)
      expected: $1"
}

# A part of stderr (or of a file).
expect_err_has() {
	grep -qF -- "$1" "${2:-err}" ||
		fail "${2:-stderr} lacks '$1'; it was: $(cat "${2:-err}")"
}

expect_file() {
	[ -e "$1" ] || fail "'$1' was not written"
}

expect_no_file() {
	[ ! -e "$1" ] || fail "'$1' exists and should not"
}

# No hidden temporary of kkit's is left in the directory.
expect_no_temporaries() {
	if ls -a "${1:-.}" | grep -q '\.kkit'; then
		fail "temporaries left: $(ls -a "${1:-.}" | grep '\.kkit')"
	fi
}

# compare A B [TOL]: stacks equal to a relative L2 error of TOL.
compare() {
	"$KKCMP" "$1" "$2" "${3:-0}" >cmp.out 2>&1 ||
		fail "'$1' and '$2' differ: $(cat cmp.out)"
}

# stat_of FILE: shape, type, min, max, mean; a NaN or infinity fails.
stat_of() {
	"$KKCMP" --stat "$1" >stat.tmp 2>&1 ||
		fail "kkcmp --stat '$1': $(cat stat.tmp)"
	grep -q ' nonfinite 0$' stat.tmp ||
		fail "'$1' holds NaN or infinite values: $(cat stat.tmp)"
	cat stat.tmp
}

finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures check(s) failed" >&2
		exit 1
	fi
	exit 0
}
