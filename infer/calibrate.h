// infer/calibrate.h — bin/kascade-calibrate's measurement: dense attention over a text, and from
// it a Kascade schedule (model/kascade.h kascade_plan).
//
// The tokens are cut into chunks of ctx (at most max_chunks), each run from an empty cache with
// every layer an anchor, so every layer's tile masses are recorded. For every query block whose
// own tile is past top_k + 1 (earlier blocks keep every tile, and say nothing), every layer i
// and head a give a kept set S (kascade_select), and for every later layer j and head h the
// mass of (j, h) inside S over its mass inside its own kept set (1 when S is as good as its own
// choice) is added to cover[i][a][j][h]; the sums are averaged over the blocks at the end.
#pragma once
#include <stddef.h>
#include "model/kascade.h"
#include "model/model.h"

typedef struct {
    int tile, top_k, max_reuse, max_chunks;
    double threshold;
} CalibrateConfig;

// Returns the schedule (tile, top_k from cfg), or NULL with a one-line reason in err (a text of
// fewer than ctx tokens, a context too short to leave any tile out, a failed forward). The
// model's KV cache must hold ctx positions. blocks, when not NULL, gets the number of query
// blocks measured.
Kascade *kascade_calibrate(Model *m, const int *tokens, int n, int ctx, const CalibrateConfig *cfg, long *blocks,
                           char *err, size_t errlen);
