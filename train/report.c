// train/report.c — what bin/train prints while it trains: the progress line (a live bar on a
// terminal), the CSV log, --profile's table and --trace-step's op statistics.
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/atomic_file.h"
#include "util/errors.h"
#include "train/run.h"

// ---- --profile: where a step's wall time goes ----
// model.c times each op call (m->prof_fwd / prof_bwd); train_step times the whole step, the
// dataloader and the update (norm, clip, AdamW).
void print_profile(const Model *m, const Profile *p, long tokens_per_step) {
    if (p->steps == 0) return;
    double per = 1000.0 / p->steps, step_ms = p->step_s * per, sum = 0;
    printf("profile: %ld steps, %.1f ms/step (%.0f tokens/s), wall time per step:\n", p->steps, step_ms,
           tokens_per_step / (step_ms / 1000.0));
    printf("  %-14s %9s %9s %9s %6s\n", "", "forward", "backward", "total", "share");
    for (int i = 0; i < PROF_OPS; i++) {
        double f = m->prof_fwd[i] * per, b = m->prof_bwd[i] * per;
        sum += f + b;
        printf("  %-14s %9.2f %9.2f %9.2f %5.1f%%\n", prof_names[i], f, b, f + b, 100 * (f + b) / step_ms);
    }
    double d = p->data_s * per, o = p->opt_s * per, rest = step_ms - sum - d - o;
    printf("  %-14s %29.2f %5.1f%%\n", "data loading", d, 100 * d / step_ms);
    printf("  %-14s %29.2f %5.1f%%\n", "norm+clip+adamw", o, 100 * o / step_ms);
    printf("  %-14s %29.2f %5.1f%%\n", "other", rest, 100 * rest / step_ms);
    printf("  (matmul = sgemm, including zeroing its outputs in the forward; zeroing = gradient buffers)\n");
}

// ---- the progress line ----

// Ends the live progress bar's line (if one is drawn) before other output.
void bar_break(Run *r) {
    if (r->bar_open) { printf("\n"); fflush(stdout); r->bar_open = 0; }
}

static void fmt_duration(char *buf, size_t cap, double s) {
    if (!(s >= 0) || s > 1e8) { snprintf(buf, cap, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
}

// r->total 0 or unknown (a time budget before warmup ends): "?"
void progress(Run *r, long step, const StepResult *s) {
    static double ema_ms = -1;
    ema_ms = ema_ms < 0 ? s->ms : 0.9 * ema_ms + 0.1 * s->ms;
    int known = r->total > 0 && r->total < (1L << 40);
    char e[32], tot[32] = "?";
    fmt_duration(e, sizeof e, known ? (r->total - step - 1) * ema_ms / 1000.0 : -1);
    if (known) snprintf(tot, sizeof tot, "%ld", r->total);
    double tps = r->tokens_per_step / (s->ms / 1000.0);
    if (r->tty) {
        int width = 24, fill = known ? (int)((double)(step + 1) / r->total * width) : 0;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        printf("\r[%s] step %ld/%s | loss %.4f | lr %.2e | norm %.3f | %.0f tok/s | %.0f ms | ETA %s\033[K",
               bar, step + 1, tot, s->loss, s->lr, s->norm, tps, s->ms, e);
        r->bar_open = 1;
    } else {
        printf("step %ld/%s | loss %.4f | lr %.2e | norm %.3f | %.0f tok/s | %.0f ms | ETA %s\n",
               step + 1, tot, s->loss, s->lr, s->norm, tps, s->ms, e);
    }
    fflush(stdout);
}

// ---- the CSV log ----

void log_row(Run *r, long step, float train_loss, float val_loss, float lr, float norm, double tps) {
    if (!r->log) return;
    char tl[32] = "", vl[32] = "", lrs[32] = "", ns[32] = "", tp[32] = "";
    // %.9g prints a float exactly (it round-trips), so logs of two runs compare bit for bit
    if (isfinite(train_loss)) snprintf(tl, sizeof tl, "%.9g", train_loss);
    if (isfinite(val_loss)) snprintf(vl, sizeof vl, "%.9g", val_loss);
    if (lr >= 0) snprintf(lrs, sizeof lrs, "%.6e", lr);
    if (norm >= 0) snprintf(ns, sizeof ns, "%.6f", norm);
    if (tps >= 0) snprintf(tp, sizeof tp, "%.1f", tps);
    fprintf(r->log, "%ld,%s,%s,%s,%s,%s,%.3f\n", step, tl, vl, lrs, ns, tp, r->st.elapsed_s + now_s() - r->run_start);
    if (fflush(r->log) != 0 || ferror(r->log)) die("--log %s: write failed: %s", r->o.log, strerror(errno));
}

// Opens the CSV log. A resumed run keeps the rows of the steps before `from` (later rows were
// logged after the checkpoint it resumes from, and will be logged again).
FILE *open_log(const char *path, long from, int resumed) {
    static const char *header = "step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s\n";
    char *keep = NULL;
    size_t keep_len = 0;
    if (resumed) {
        FILE *old = fopen(path, "r");
        if (old) {
            FILE *mem = open_memstream(&keep, &keep_len);
            if (!mem) die("--log: out of memory");
            char line[1024];
            int first = 1;
            while (fgets(line, sizeof line, old)) {
                if (first) { first = 0; if (!strcmp(line, header)) continue; }
                char *end;
                long s = strtol(line, &end, 10);
                size_t len = strlen(line);   // a row cut short by a kill has no '\n': dropped
                if (end != line && *end == ',' && s < from && len && line[len - 1] == '\n') fputs(line, mem);
            }
            fclose(old);
            fclose(mem);
        }
    }
    // rewrite it atomically (a kill now must not lose the rows kept), then append to it
    char err[4200];
    AtomicFile af;
    if (atomic_open(&af, path, err, sizeof err)) die("--log: %s", err);
    if (atomic_write(&af, header, strlen(header), err, sizeof err) || atomic_write(&af, keep, keep_len, err, sizeof err)) {
        atomic_abort(&af);
        die("--log: %s", err);
    }
    if (!af.tmp) {   // a device or FIFO, written through: keep writing to it (a reopen would end a FIFO)
        free(keep); free(af.path);
        return af.fp;
    }
    if (atomic_commit(&af, err, sizeof err)) die("--log: %s", err);
    free(keep);
    FILE *f = fopen(path, "a");
    if (!f) die("--log %s: %s", path, strerror(errno));
    return f;
}

// ---- --trace-step: every op's output and gradient, summarised ----
// The activation tensors in ActivationTensors' order (model.h), with their shapes per layer.
static const struct { const char *name, *shape; int grad; } traced[NUM_ACTIVATION_TENSORS] = {
    {"resid", "B,T,C", 1},      {"att_norm", "B,T,C", 1},   {"att_rstd", "B,T", 0},
    {"q", "B,T,NH*HD", 1},      {"k", "B,T,NKV*HD", 1},     {"v", "B,T,NKV*HD", 1},
    {"qr", "B,T,NH*HD", 1},     {"kr", "B,T,NKV*HD", 1},    {"att", "B,NH,T,T", 0},
    {"atty", "B,T,NH*HD", 1},   {"att_out", "B,T,C", 1},    {"resid_mid", "B,T,C", 0},
    {"ffn_norm", "B,T,C", 1},   {"ffn_rstd", "B,T", 0},     {"gate", "B,T,H", 1},
    {"up", "B,T,H", 1},         {"hmid", "B,T,H", 1},       {"ffn_out", "B,T,C", 1},
    {"final_norm", "B,T,C", 1}, {"final_rstd", "B,T", 0},   {"logits", "B,T,V", 1},
    {"losses", "B,T", 0},
};
#define N_LAYER_TENSORS 18   // the first 18 are per layer; the last 4 belong to the output head

static void trace_line(const char *dir, const char *where, const char *name, const char *shape, const float *x, size_t n) {
    double s = 0, s2 = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        s += v; s2 += v * v;
        if (fabs(v) > mx || isnan(v)) mx = isnan(v) ? NAN : fabs(v);
    }
    double mean = s / n, var = s2 / n - mean * mean;
    char sh[32];
    snprintf(sh, sizeof sh, "(%s)", shape);
    printf("trace %-4s %-5s %-10s %-12s %9zu  mean %+.6e  std %.3e  max|x| %.3e\n", dir, where, name, sh, n,
           mean, sqrt(var > 0 ? var : 0), mx);
}

// The forward's activations of every layer (acts hold all of them until the backward).
static void trace_forward(const Model *m) {
    const Config *c = &m->config;
    int B = m->act_B, T = m->act_T, L = c->n_layers;
    size_t sizes[NUM_ACTIVATION_TENSORS];
    fill_in_activation_sizes(sizes, c, B, T, T, L);
    float *const *t = (float *const *)&m->acts;
    printf("trace step: B=%d T=%d C=%d NH=%d NKV=%d HD=%d H=%d V=%d L=%d; n = elements\n", B, T, c->dim,
           c->n_heads, c->n_kv_heads, c->head_dim, c->hidden_dim, c->vocab_size, L);
    for (int l = 0; l < L; l++) {
        char where[16];
        snprintf(where, sizeof where, "L%d", l);
        for (int i = 0; i < N_LAYER_TENSORS; i++) {
            size_t per = sizes[i] / (i == 0 ? L + 1 : L);
            trace_line("fwd", where, i == 0 ? "resid(in)" : traced[i].name, traced[i].shape, t[i] + l * per, per);
        }
    }
    for (int i = N_LAYER_TENSORS; i < NUM_ACTIVATION_TENSORS; i++)
        trace_line("fwd", "head", traced[i].name, traced[i].shape, t[i], sizes[i]);
}

// model_backward's hook: grad_acts hold layer `layer`'s gradients (see model.h).
static void trace_backward(const Model *m, int layer) {
    const Config *c = &m->config;
    size_t sizes[NUM_ACTIVATION_TENSORS];
    fill_in_activation_sizes(sizes, c, m->act_B, m->act_T, m->act_T, 1);
    float *const *g = (float *const *)&m->grad_acts;
    size_t BTC = (size_t)m->act_B * m->act_T * c->dim;
    char where[16];
    if (layer == c->n_layers) {
        for (int i = NUM_ACTIVATION_TENSORS - 1; i >= N_LAYER_TENSORS; i--)
            if (traced[i].grad) trace_line("grad", "head", traced[i].name, traced[i].shape, g[i], sizes[i]);
        trace_line("grad", "head", "resid(out)", "B,T,C", g[0], BTC);
        return;
    }
    if (layer < 0) { trace_line("grad", "embed", "resid(in)", "B,T,C", g[0], BTC); return; }
    snprintf(where, sizeof where, "L%d", layer);
    for (int i = N_LAYER_TENSORS - 1; i >= 1; i--)   // in the order the backward reaches them
        if (traced[i].grad) trace_line("grad", where, traced[i].name, traced[i].shape, g[i], sizes[i]);
    trace_line("grad", where, "resid(in)", "B,T,C", g[0], BTC);
}

void trace_step_begin(Model *m) { m->trace_backward = trace_backward; }
void trace_step_forward(const Model *m) { trace_forward(m); }
void trace_step_end(Model *m) { m->trace_backward = NULL; }
