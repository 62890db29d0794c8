// util/cpu_load.h — how busy the machine is when a program starts.
//
// Timings on a machine whose cores are already taken are slower and swing by large factors (a
// 2-core machine running another job decodes at a fraction of its quiet speed), so the programs
// that report speeds say how many threads they used and warn once when the 1-minute load
// average is above the number of online cores.
#pragma once

// Prints "<prog>: the machine is busy (load average L on N cores): ..." on stderr when the load
// average exceeds the core count, and returns 1; else prints nothing and returns 0.
// SCRATCHLLAMA_LOADAVG, when set, stands in for the load average (for tests).
int cpu_load_warn(const char *prog, int threads);
