// util/cpu_load.c — see cpu_load.h.
#include "util/cpu_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int cpu_load_threads(const char *prog, int requested) {
    double load[1];
    const char *fake = getenv("SCRATCHLLAMA_LOADAVG");
    if (fake && *fake) load[0] = atof(fake);
    else if (getloadavg(load, 1) != 1) return requested;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1 || load[0] <= (double)cores) return requested;
    if (requested > 0) {
        fprintf(stderr, "%s: the machine is busy (load average %.1f on %ld cores): speeds will be lower and "
                "vary; %d threads compete with the other work (--threads N sets fewer)\n", prog, load[0], cores, requested);
        return requested;
    }
    fprintf(stderr, "%s: the machine is busy (load average %.1f on %ld cores): running on 1 thread, not %ld "
            "(--threads N chooses)\n", prog, load[0], cores, cores);
    return 1;
}
