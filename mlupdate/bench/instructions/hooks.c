/* Callgrind's client requests, for a Python process to count its own timed call.
 *
 * Python cannot issue a client request itself: it is a magic instruction sequence that
 * valgrind recognises (a no-op on a real CPU). These functions issue them, and ctypes calls
 * them (mlupdate/bench/instructions/hooks.py builds this file on first use). */
#include <valgrind/callgrind.h>
#include <valgrind/valgrind.h>

int mlupdate_on_valgrind(void) { return RUNNING_ON_VALGRIND; }
void mlupdate_zero(void) { CALLGRIND_ZERO_STATS; }
void mlupdate_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void mlupdate_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
