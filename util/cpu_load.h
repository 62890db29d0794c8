// util/cpu_load.h — how busy the machine is when a program starts, and how many threads to use.
//
// On a machine whose cores are already taken, every thread of ours waits for a core at each of
// the many barriers in a step (OpenMP threads spin there before they sleep), so a step gets slower
// by large factors, not in proportion (a 2-core machine running other work has decoded at a
// thirtieth of its quiet speed with 2 threads). So when the 1-minute load average is above the
// number of online cores, the default (--threads 0) is one thread, said once on stderr; an
// explicit --threads is kept, with the same warning.
#pragma once

// The thread count to set: `requested` when > 0 (warning when the machine is busy), else 1 when
// the machine is busy (saying so), else 0: keep OpenMP's and OpenBLAS's default (all cores).
// SCRATCHLLAMA_LOADAVG, when set, stands in for the load average (for tests).
int cpu_load_threads(const char *prog, int requested);
