# tests/sanitize/env.sh: source it to run tests against a build with
# INTROEVAL_SANITIZE=ON (AddressSanitizer + UBSan; deploy/test --sanitize
# does). Every process the tests start inherits these: the first report
# ends the process (UBSan's checks are built not to recover), leaks are
# reported when a process exits normally (LeakSanitizer; a server
# stopped with SIGTERM exits normally, one killed with SIGKILL is not
# checked), and the harness fails the test whose server log or command
# output holds a report (tests/integration/harness.py, SanitizerReport).
_san_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=86:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86"
export LSAN_OPTIONS="suppressions=$_san_dir/lsan.supp:print_suppressions=0:exitcode=86"
unset _san_dir
