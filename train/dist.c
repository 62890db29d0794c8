// train/dist.c — see dist.h. The only file that includes mpi.h.
#include "train/dist.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <mpi.h>

#include "util/errors.h"

static int active;          // MPI_Init was called (launched by mpirun)
static int finalized;
static int rank_, size_ = 1;
static double comm_s;

// MPI counts are ints: a buffer of more than INT_MAX floats goes in pieces
#define CHUNK ((size_t)1 << 30)

// exit(status) before dist_finalize: an error on this rank (die) ends every rank with
// MPI_Abort; a clean exit 0 (--help) finalizes
static void on_exit_handler(int status, void *arg) {
    (void)arg;
    if (!active || finalized) return;
    if (status != 0) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    finalized = 1;
    MPI_Finalize();
}

void dist_init(int *argc, char ***argv) {
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK")) return;   // not under mpirun
    if (MPI_Init(argc, argv) != MPI_SUCCESS) die("MPI_Init failed");
    active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    on_exit(on_exit_handler, NULL);
    if (rank_ != 0 && !freopen("/dev/null", "w", stdout)) die("rank %d: cannot silence stdout", rank_);
}

void dist_finalize(void) {
    if (!active || finalized) return;
    finalized = 1;
    MPI_Finalize();
}

int dist_rank(void) { return rank_; }
int dist_size(void) { return size_; }
double dist_comm_seconds(void) { return comm_s; }

// buf[0..n) := op over every rank's buf[0..n), in place, timed
static void allreduce(void *buf, int n, MPI_Datatype type, MPI_Op op) {
    double t0 = MPI_Wtime();
    MPI_Allreduce(MPI_IN_PLACE, buf, n, type, op, MPI_COMM_WORLD);
    comm_s += MPI_Wtime() - t0;
}

void dist_mean_floats(float *buf, size_t n) {
    if (size_ == 1) return;
    for (size_t i = 0; i < n; i += CHUNK) allreduce(buf + i, (int)(n - i < CHUNK ? n - i : CHUNK), MPI_FLOAT, MPI_SUM);
    float inv = 1.0f / (float)size_;
    #pragma omp parallel for simd
    for (size_t i = 0; i < n; i++) buf[i] *= inv;
}

double dist_sum(double x) {
    if (size_ > 1) allreduce(&x, 1, MPI_DOUBLE, MPI_SUM);
    return x;
}

double dist_mean(double x) { return size_ == 1 ? x : dist_sum(x) / size_; }

int dist_or(int flags) {
    if (size_ > 1) allreduce(&flags, 1, MPI_INT, MPI_BOR);
    return flags;
}

void dist_bcast(void *buf, size_t bytes) {
    if (size_ == 1) return;
    if (bytes > INT_MAX) die("dist_bcast: %zu bytes is more than one MPI call carries", bytes);
    double t0 = MPI_Wtime();
    MPI_Bcast(buf, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
    comm_s += MPI_Wtime() - t0;
}

void dist_shard(size_t n, int rank, size_t *lo, size_t *count) {
    size_t per = (n + size_ - 1) / size_;
    size_t a = (size_t)rank * per, b = a + per;
    if (a > n) a = n;
    if (b > n) b = n;
    *lo = a;
    *count = b - a;
}

// every rank's shard as MPI's counts and displacements (in floats)
static void shard_layout(size_t n, int *counts, int *displs) {
    for (int r = 0; r < size_; r++) {
        size_t lo, c;
        dist_shard(n, r, &lo, &c);
        if (lo + c > INT_MAX) die("--zero 1: %zu parameters are more than MPI's int displacements address", n);
        counts[r] = (int)c;
        displs[r] = (int)lo;
    }
}

void dist_reduce_scatter_mean(const float *full, float *shard, size_t n) {
    size_t lo, c;
    dist_shard(n, rank_, &lo, &c);
    if (size_ == 1) {
        for (size_t i = 0; i < c; i++) shard[i] = full[lo + i];
        return;
    }
    int counts[size_], displs[size_];
    shard_layout(n, counts, displs);
    double t0 = MPI_Wtime();
    // one MPI_Reduce per shard, to its owner: the same bytes as MPI_Reduce_scatter, but
    // OpenMPI's reduce-scatter allocates a scratch copy of the whole gradient (measured: +4 bytes
    // per parameter on every process), which would cancel what the sharded moments save
    for (int r = 0; r < size_; r++)
        MPI_Reduce(full + displs[r], r == rank_ ? shard : NULL, counts[r], MPI_FLOAT, MPI_SUM, r, MPI_COMM_WORLD);
    float inv = 1.0f / (float)size_;
    for (size_t i = 0; i < c; i++) shard[i] *= inv;
    comm_s += MPI_Wtime() - t0;
}

void dist_allgather(float *full, size_t n) {
    if (size_ == 1) return;
    int counts[size_], displs[size_];
    shard_layout(n, counts, displs);
    double t0 = MPI_Wtime();
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, full, counts, displs, MPI_FLOAT, MPI_COMM_WORLD);
    comm_s += MPI_Wtime() - t0;
}

void dist_gather(const float *shard, float *full, size_t n) {
    size_t lo, c;
    dist_shard(n, rank_, &lo, &c);
    if (size_ == 1) {
        for (size_t i = 0; i < c; i++) full[lo + i] = shard[i];
        return;
    }
    int counts[size_], displs[size_];
    shard_layout(n, counts, displs);
    double t0 = MPI_Wtime();
    MPI_Gatherv(shard, counts[rank_], MPI_FLOAT, full, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
    comm_s += MPI_Wtime() - t0;
}
