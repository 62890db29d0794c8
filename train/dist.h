// train/dist.h — data-parallel training over MPI: every MPI call bin/train makes, in one place.
//
// `mpirun -np N bin/train ...` starts N processes ("ranks"). Each holds a whole model and takes
// --batch B rows of every micro-batch: the global batch is N·B rows and rank r takes rows
// r·B .. r·B+B-1 of what one process with --batch N·B would take, so the run is that one process's:
//   loss_global = (1/N) sum_r loss_r         (every rank's loss is a mean over B·T tokens)
//   grad_global = (1/N) sum_r grad_r         (MPI_Allreduce, in place)
// after which every rank makes the same AdamW update on the same gradients. With --zero 1
// (ZeRO stage 1) each rank keeps the AdamW moments of only its 1/N of the parameters:
//   reduce-scatter (one MPI_Reduce per shard): rank r receives the mean gradient of its shard only
//   AdamW on that shard;  MPI_Allgatherv: every rank receives every shard's new parameters
// Started without mpirun there is one rank and every call here returns at once (MPI is not
// even initialized), so plain bin/train runs as it always did.
//
// A rank that exits with an error (die: one line on stderr, exit 1) calls MPI_Abort on the way
// out, which ends the whole job: no rank waits forever in a collective for a dead peer.
#pragma once
#include <stddef.h>

// Starts MPI when launched by mpirun (OMPI_COMM_WORLD_SIZE / PMIX_RANK in the environment);
// ranks other than 0 send stdout to /dev/null (rank 0 prints, logs and saves).
void dist_init(int *argc, char ***argv);
void dist_finalize(void);   // after the last collective; a normal exit 0 without it also finalizes
int dist_rank(void);
int dist_size(void);

// buf[0..n) := the mean over ranks of buf[0..n), in place (MPI_Allreduce)
void dist_mean_floats(float *buf, size_t n);
// the sum over ranks of x; the mean over ranks of x; the bitwise OR over ranks of flags
double dist_sum(double x);
double dist_mean(double x);
int dist_or(int flags);
// rank 0's bytes into every rank's buf
void dist_bcast(void *buf, size_t bytes);

// ZeRO-1: the parameter buffer of n floats cut into dist_size() contiguous shards; rank r owns
// [lo, lo + count): shards of ceil(n/N) floats, the last one shorter
void dist_shard(size_t n, int rank, size_t *lo, size_t *count);
// shard := the mean over ranks of this rank's shard of full[0..n) (a reduce-scatter)
void dist_reduce_scatter_mean(const float *full, float *shard, size_t n);
// full[0..n) on every rank := the concatenation of every rank's shard, each rank's own already
// in place (MPI_Allgatherv)
void dist_allgather(float *full, size_t n);
// on rank 0: full[0..n) := the concatenation of every rank's shard (MPI_Gatherv); others send
void dist_gather(const float *shard, float *full, size_t n);

// seconds spent inside the calls above since dist_init (the time in communication)
double dist_comm_seconds(void);
