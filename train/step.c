// train/step.c — one training update, an evaluation, a sample.
//
// One update (train_step):
//   for each of grad_accum micro-batches:  batch -> model_forward (loss) -> model_backward (+= grads)
//   grads /= grad_accum;  norm = ||grads||;  clip to --grad-clip;  lr = schedule(step);  AdamW
// Under mpirun (train/dist.h) each process runs its rows of the global batch, then
//   grads = mean over processes (all-reduce)                     and the rest as above, or with --zero 1:
//   shard = mean over processes of its shard (reduce-scatter);  norm^2 = sum over processes of ||shard||^2;
//   clip and AdamW on the shard;  parameters = all shards (all-gather)
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/errors.h"
#include "infer/sampler.h"
#include "train/adamw.h"
#include "train/dist.h"
#include "train/run.h"

// The first trained tensor whose gradient (or value) is not finite; NULL when all are.
static const char *first_nonfinite(const Run *r, const float *base, size_t *index) {
    static char name[160];
    size_t off = 0;
    for (int t = 0; t < r->ntensors; t++) {
        for (size_t i = 0; i < r->sizes[t]; i++)
            if (!isfinite(base[off + i])) { *index = i; return run_tensor_name(r, t, name, sizeof name); }
        off += r->sizes[t];
    }
    return NULL;
}

// What a run that stops on NaN leaves to resume from (no pair is written before the first
// --ckpt-every, or before the end).
static const char *kept_note(const char *dir) {
    static char note[TRAIN_PATH_MAX + 64];
    size_t n = 0;
    free(ckpt_list_steps(dir, &n));
    if (n) snprintf(note, sizeof note, "last good checkpoint kept in %s", dir);
    else snprintf(note, sizeof note, "no checkpoint saved yet in %s: nothing to resume from", dir);
    return note;
}

// The learning rate of update `step`. With a step count: the schedule of step / total. With a
// time budget: after warmup, the schedule of the share of the budget's training time spent
// (training stops by `end`, which leaves room for the final evaluation), so the decay ends
// when the budget does however fast the machine runs; r->total becomes the step count that
// this progress implies (lr_at's f = (s - w) / (total - 1 - w)), for the progress line and for
// a resume, which then continues step by step.
static float lr_now(Run *r, long step, double step_start) {
    if (!r->time_mode) return lr_at(&r->lr, step);
    double t = now_s() - r->run_start, end = r->budget_s - r->eval_s - 1.0, f = 0;
    // warmup: its steps, but no more than the first 5% of the budget, so that a slow machine does
    // not spend the whole budget warming up
    int warming = r->warm_end_t < 0 && step < r->o.warmup && t < 0.05 * end;
    if (!warming) {
        if (r->warm_end_t < 0) { r->warm_end_t = step_start - r->run_start; r->warm_end_step = step; }
        f = end > r->warm_end_t ? (t - r->warm_end_t) / (end - r->warm_end_t) : 1.0;
        // no time for another step of this one's length: this is the last, at the end of the decay
        if (run_budget_spent(r, now_s() - step_start)) { f = 1.0; r->final_update = 1; }
    }
    // several processes: process 0's clock decides, so every process makes the same update
    struct { double f, warm_end_t; long warm_end_step; int warming, final_update; } sch =
        {f, r->warm_end_t, r->warm_end_step, warming, r->final_update};
    dist_bcast(&sch, sizeof sch);
    f = sch.f;
    r->warm_end_t = sch.warm_end_t;
    r->warm_end_step = sch.warm_end_step;
    r->final_update = sch.final_update;
    if (sch.warming) return lr_at_progress(&r->lr, step, 0);
    long w = r->warm_end_step;
    if (f > 0 && f < 1) {
        long total = w + 1 + (long)ceil((step - w) / f);
        r->total = r->o.steps = r->st.opts.steps = r->lr.total = total > step + 1 ? total : step + 2;
    }
    LrConfig after = r->lr;
    after.warmup = 0;   // warmup is over (perhaps cut short)
    return lr_at_progress(&after, step, f);
}

int run_budget_spent(const Run *r, double step_s) {
    return r->budget_s > 0 && now_s() - r->run_start + step_s + r->eval_s + 1.0 > r->budget_s;
}

static void nonfinite_gradient(Run *r, long step) {
    size_t idx = 0;
    const char *bad = first_nonfinite(r, r->grads, &idx);
    die("step %ld: gradient of %s[%zu] is not finite (%s)", step, bad ? bad : "?", idx, kept_note(r->o.ckpt_dir));
}

// --zero 1: the update's second half, on this process's shard of the parameters
static StepResult zero_update(Run *r, long step, double t0, double t_opt, StepResult s) {
    const TrainOptions *o = &r->o;
    size_t np = r->np, n = r->shard_n;
    float *g = r->grad_shard;
    dist_reduce_scatter_mean(r->grads, g, np);
    if (o->grad_accum > 1)
        for (size_t i = 0; i < n; i++) g[i] /= o->grad_accum;
    double local = grad_global_norm(g, n);
    s.norm = sqrt(dist_sum(local * local));
    if (!isfinite(s.norm)) nonfinite_gradient(r, step);   // names the first on this process
    grad_clip(g, n, s.norm, o->grad_clip);
    s.lr = lr_now(r, step, t0);
    adamw_update_slice(r->params, g, r->adam_m, r->adam_v, r->shard_lo, n, r->sizes, r->decay,
                       r->ntensors, s.lr, o->beta1, o->beta2, o->eps, o->weight_decay, (uint64_t)step + 1);
    dist_allgather(r->params, np);
    r->st.step = (uint64_t)step + 1;
    r->st.tokens_seen += r->tokens_per_step;
    s.opt_s = now_s() - t_opt;
    s.ms = (now_s() - t0) * 1000.0;
    return s;
}

StepResult train_step(Run *r, long step) {
    Model *m = r->m;
    const TrainOptions *o = &r->o;
    int A = o->grad_accum, B = o->batch, T = o->seq;
    StepResult s = {0};
    double t0 = now_s();
    int trace = step == o->trace_step;
    model_zero_grad(m);
    for (int a = 0; a < A; a++) {
        double td = now_s();
        dataloader_next_batch(&r->train);
        s.data_s += now_s() - td;
        m->dropout_step = (uint64_t)step * A + a;     // a fresh, reproducible dropout mask
        r->st.dropout_step = m->dropout_step + 1;
        // this process's rows of the global batch
        float l = model_forward(m, r->train.inputs + (size_t)r->row0 * T, r->train.targets + (size_t)r->row0 * T, B, T);
        if (!isfinite(l) && model_error(m)[0]) die("step %ld: %s", step, model_error(m));
        if (!isfinite(l)) {
            size_t idx;
            const char *bad = first_nonfinite(r, r->params, &idx);
            if (bad) die("step %ld: loss is %f; parameter %s[%zu] is not finite (%s)", step, l, bad, idx,
                         kept_note(o->ckpt_dir));
            die("step %ld: loss is %f (%s)", step, l, kept_note(o->ckpt_dir));
        }
        if (trace && a == 0) { trace_step_forward(m); trace_step_begin(m); }
        if (model_backward(m) != 0) die("step %ld: %s", step, model_error(m));
        if (trace && a == 0) trace_step_end(m);
        s.loss += l / A;
    }
    s.loss = (float)dist_mean(s.loss);   // every process's mean is over as many tokens
    double t_opt = now_s();
    size_t np = r->np;
    float *g = r->grads;
    if (step == r->debug_nan_at) { if (r->lora) g[0] = NAN; else m->grads.wq[0] = NAN; }
    if (o->zero) return zero_update(r, step, t0, t_opt, s);
    if (A > 1)   // backward summed A mean-gradients; the update wants their mean
        for (size_t i = 0; i < np; i++) g[i] /= A;
    dist_mean_floats(g, np);   // the global batch's gradient
    s.norm = grad_global_norm(g, np);
    if (!isfinite(s.norm)) nonfinite_gradient(r, step);
    grad_clip(g, np, s.norm, o->grad_clip);
    s.lr = lr_now(r, step, t0);
    adamw_update_tensors(r->params, g, r->adam_m, r->adam_v, r->sizes, r->decay,
                         r->ntensors, s.lr, o->beta1, o->beta2, o->eps, o->weight_decay, (uint64_t)step + 1);
    r->st.step = (uint64_t)step + 1;
    r->st.tokens_seen += r->tokens_per_step;
    s.opt_s = now_s() - t_opt;
    s.ms = (now_s() - t0) * 1000.0;
    return s;
}

// Mean val loss over the first n batches of the val shard (sequential, the same every time),
// and bits per byte over exactly those target tokens:
//   bits/byte = (sum of per-token nats) / ln 2 / (bytes those tokens decode to)
//             = mean_loss / ln 2 * tokens / bytes
float evaluate(Run *r, double *bpb_out, int *batches_out) {
    Model *m = r->m;
    int B = r->o.batch, T = r->o.seq, GB = B * r->ranks;   // GB: the global batch, of which this process takes B rows
    size_t n = dataloader_batches_per_epoch(&r->val);
    if ((size_t)r->o.eval_batches < n) n = r->o.eval_batches;
    m->training = 0;
    dataloader_reset(&r->val);
    double loss = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        dataloader_next_batch(&r->val);
        float l = model_forward(m, r->val.inputs + (size_t)r->row0 * T, r->val.targets + (size_t)r->row0 * T, B, T);
        if (!isfinite(l) && model_error(m)[0]) die("evaluation: %s", model_error(m));
        if (!isfinite(l)) die("evaluation: val loss is %f at val batch %zu", l, i);
        loss += l;
        if (r->token_bytes)
            for (int j = 0; j < GB * T; j++) bytes += r->token_bytes[r->val.targets[j]];
    }
    m->training = 1;
    loss = dist_mean(loss) / n;
    *bpb_out = r->token_bytes && bytes > 0 ? loss / log(2.0) * ((double)n * GB * T) / bytes : NAN;
    *batches_out = (int)n;
    return (float)loss;
}

// About o.sample_chars characters from a newline at temperature 0.8, with the KV cache and
// bin/infer's sampler; its random state lives in the training state, so a resumed run samples
// what the uninterrupted one would have.
void sample(Run *r, const char *title) {
    if (!r->tok || r->o.sample_chars == 0 || r->rank != 0) return;   // process 0 prints
    Model *m = r->m;
    int V = m->config.vocab_size;
    size_t nstart;
    int *start = tiktoken_encode_ordinary(r->tok, "\n", 1, &nstart);
    if (!start || nstart < 1) die("sampling: cannot encode the start token");
    int token = start[0];
    free(start);
    Sampler sp;
    sampler_init(&sp, V, 0.8f, 0, 1.0f, 0.0f, 0);
    if (!sp.candidates) die("sampling: out of memory");
    sp.rng = r->st.sample_rng ? r->st.sample_rng : 1;
    m->training = 0;
    TiktokenStream ts;
    tiktoken_stream_init(&ts, r->tok);
    printf("---- sample (%s) ----\n", title);
    int chars = 0;
    for (int pos = 0; pos < r->sample_len && chars < r->o.sample_chars; pos++) {
        float *logits = model_forward_kv(m, &token, 1, pos, 0);
        if (!logits) die("sampling: model_forward_kv failed at position %d", pos);
        token = sampler_sample(&sp, logits);
        size_t len;
        const char *s = tiktoken_stream_feed(&ts, token, &len);
        if (s) {
            fwrite(s, 1, len, stdout);
            for (size_t i = 0; i < len; i++) chars += ((unsigned char)s[i] & 0xC0) != 0x80;
        }
    }
    size_t len;
    const char *s = tiktoken_stream_flush(&ts, &len);
    if (s) fwrite(s, 1, len, stdout);
    tiktoken_stream_free(&ts);
    printf("\n----\n");
    fflush(stdout);
    r->st.sample_rng = sp.rng;
    sampler_free(&sp);
    m->training = 1;
}
