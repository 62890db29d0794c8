// train/state.c — see state.h.
#include "train/state.h"
#include "util/atomic_file.h"
#include "util/serial.h"
#include "util/files.h"
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <signal.h>

#define STATE_MAGIC "SLSTATE"
// version 2 added att_dropout, version 3 decay_frac (the last fields of the settings), version 4
// lr_steps, version 5 data_bytes and data_checksum, version 6 ranks, version 7 the LoRA settings
// (lora, lora_alpha, lora_targets, after ranks); older files still load (their
// runs had no wsd schedule, which did not exist yet, their schedule's length was opts.steps,
// their data is not checked, they ran on one process, and trained every weight)
#define STATE_VERSION 7

static void put_state(SerialOut *o, const TrainState *s) {
    options_put(o, &s->opts);
    ser_u64(o, s->step); ser_u64(o, s->data.epoch); ser_u64(o, s->data.pos); ser_u64(o, s->sample_rng);
    ser_u64(o, s->dropout_seed); ser_u64(o, s->dropout_step); ser_f32(o, s->best_val); ser_u64(o, s->best_step);
    ser_f64(o, s->elapsed_s); ser_u64(o, s->tokens_seen); ser_u64(o, s->model_checksum);
    options_put_version(o, &s->opts, 2);   // att_dropout
    options_put_version(o, &s->opts, 3);   // decay_frac
    ser_u64(o, s->lr_steps);          // version 4
    ser_u64(o, s->data_bytes); ser_u64(o, s->data_checksum);   // version 5
    ser_u32(o, s->ranks);             // version 6
    options_put_version(o, &s->opts, 7);   // lora, lora_alpha, lora_targets
}

static void get_state(SerialIn *in, TrainState *s, uint32_t version) {
    options_get(in, &s->opts);
    s->step = des_u64(in); s->data.epoch = des_u64(in); s->data.pos = des_u64(in); s->sample_rng = des_u64(in);
    s->dropout_seed = des_u64(in); s->dropout_step = des_u64(in); s->best_val = des_f32(in); s->best_step = des_u64(in);
    s->elapsed_s = des_f64(in); s->tokens_seen = des_u64(in); s->model_checksum = des_u64(in);
    if (version >= 2) options_get_version(in, &s->opts, 2);
    if (version >= 3) options_get_version(in, &s->opts, 3);
    s->lr_steps = version >= 4 ? des_u64(in) : (uint64_t)s->opts.steps;
    s->data_bytes = version >= 5 ? des_u64(in) : 0;
    s->data_checksum = version >= 5 ? des_u64(in) : 0;
    s->ranks = version >= 6 ? des_u32(in) : 1;
    if (version >= 7) options_get_version(in, &s->opts, 7);
}

static uint64_t moments_checksum(const float *m, const float *v, size_t n) {
    return checksum64(m, n * sizeof(float)) * 31 + checksum64(v, n * sizeof(float));
}

int train_state_save(const char *path, const TrainState *st, const float *m, const float *v, size_t n,
                     char *err, size_t errlen) {
    SerialOut o = {0};
    ser_bytes(&o, STATE_MAGIC, 8);
    ser_u32(&o, STATE_VERSION);
    ser_u32(&o, 0);                      // header_bytes: ser_end_header fills it in
    put_state(&o, st);
    ser_u64(&o, n);
    ser_u64(&o, moments_checksum(m, v, n));
    ser_end_header(&o);                   // checksum, padding to 64 bytes, header_bytes
    if (o.oom) { free(o.p); snprintf(err, errlen, "%s: out of memory", path); return -1; }
    AtomicFile af;
    int rc = -1;
    if (atomic_open(&af, path, err, errlen)) goto out;
    if (atomic_write(&af, o.p, o.n, err, errlen) || atomic_write(&af, m, n * sizeof(float), err, errlen) ||
        atomic_write(&af, v, n * sizeof(float), err, errlen)) { atomic_abort(&af); goto out; }
    rc = atomic_commit(&af, err, errlen);
out:
    free(o.p);
    return rc;
}

int train_state_load(const char *path, TrainState *st, float *m, float *v, size_t n, char *err, size_t errlen) {
    const char *why;
    FILE *fp = fopen_regular(path, &why);
    if (!fp) { snprintf(err, errlen, "%s: %s", path, why); return -1; }
    struct stat sb;
    uint8_t *buf = NULL;
    int rc = -1;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) { snprintf(err, errlen, "%s: not a regular file", path); goto out; }
    size_t size = (size_t)sb.st_size;
    uint8_t fixed[16];
    if (size < 16 || fread(fixed, 1, 16, fp) != 16) { snprintf(err, errlen, "%s: too short for a training state (truncated?)", path); goto out; }
    if (memcmp(fixed, STATE_MAGIC, 8) != 0) { snprintf(err, errlen, "%s: not a scratchllama training state (bad magic)", path); goto out; }
    uint32_t version, hb;
    memcpy(&version, fixed + 8, 4);
    memcpy(&hb, fixed + 12, 4);
    if (version < 1 || version > STATE_VERSION) {
        snprintf(err, errlen, "%s: training state version %u, this program reads versions 1 to %d", path, version, STATE_VERSION);
        goto out;
    }
    buf = ser_read_header(fp, fixed, size, 16 * TRAIN_PATH_MAX, path, err, errlen);
    if (!buf) goto out;
    SerialIn in = {buf, hb, 16, 0};
    get_state(&in, st, version);
    uint64_t fn = des_u64(&in), sum = des_u64(&in);
    if (in.bad) { snprintf(err, errlen, "%s: malformed training state header", path); goto out; }
    // the header's own checksum: the run's settings live here, and a flipped bit would resume
    // with another batch size, lr or thread count (files written before it existed have zero
    // padding here: not checked)
    size_t hsum_at = in.off;
    uint64_t hsum = in.n - in.off >= 8 ? des_u64(&in) : 0;
    if (hsum != 0 && hsum != checksum64(buf, hsum_at)) {
        snprintf(err, errlen, "%s: header checksum mismatch (file corrupt)", path);
        goto out;
    }
    if (fn != n) {
        snprintf(err, errlen, "%s: holds optimizer moments for %llu parameters, the model has %zu", path,
                 (unsigned long long)fn, n);
        goto out;
    }
    if (size != hb + 2 * n * sizeof(float)) {
        snprintf(err, errlen, "%s: %zu bytes, expected %zu (truncated or corrupt)", path, size, hb + 2 * n * sizeof(float));
        goto out;
    }
    if (fread(m, sizeof(float), n, fp) != n || fread(v, sizeof(float), n, fp) != n) {
        snprintf(err, errlen, "%s: cannot read the optimizer moments", path);
        goto out;
    }
    if (moments_checksum(m, v, n) != sum) { snprintf(err, errlen, "%s: checksum mismatch (file corrupt)", path); goto out; }
    rc = 0;
out:
    free(buf);
    fclose(fp);
    return rc;
}

void ckpt_model_path(char *buf, size_t cap, const char *dir, uint64_t step) {
    snprintf(buf, cap, "%s/model_%08" PRIu64 ".bin", dir, step);
}
void ckpt_state_path(char *buf, size_t cap, const char *dir, uint64_t step) {
    snprintf(buf, cap, "%s/state_%08" PRIu64 ".bin", dir, step);
}

static int cmp_desc(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

// The N of every "<prefix><digits>.bin" in dir, newest first.
static uint64_t *list_steps(const char *dir, const char *prefix, size_t *n) {
    size_t plen = strlen(prefix);
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    size_t cap = 16;
    uint64_t *steps = malloc(cap * sizeof *steps);
    struct dirent *e;
    while (steps && (e = readdir(d))) {
        // exactly "<prefix><digits>.bin" (temp files "state_N.bin.tmp.PID" do not match)
        const char *s = e->d_name;
        if (strncmp(s, prefix, plen) != 0 || !(s[plen] >= '0' && s[plen] <= '9')) continue;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s + plen, &end, 10);
        if (errno || strcmp(end, ".bin") != 0) continue;
        if (*n == cap) {
            uint64_t *q = realloc(steps, 2 * cap * sizeof *steps);
            if (!q) { free(steps); steps = NULL; break; }   // (a partial list could hide the newest)
            steps = q; cap *= 2;
        }
        steps[(*n)++] = v;
    }
    closedir(d);
    if (!steps) { *n = 0; errno = ENOMEM; return NULL; }
    qsort(steps, *n, sizeof *steps, cmp_desc);
    return steps;
}

uint64_t *ckpt_list_steps(const char *dir, size_t *n) { return list_steps(dir, "state_", n); }

int ckpt_remove_stale_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    char path[TRAIN_PATH_MAX + 300];
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t) continue;
        char *end;
        long pid = strtol(t + 5, &end, 10);
        if (end == t + 5 || *end || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;   // its writer may still be running
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) removed++;
    }
    closedir(d);
    return removed;
}

void ckpt_prune(const char *dir, int keep) {
    if (keep < 1) keep = 1;
    size_t n, nm;
    uint64_t *steps = list_steps(dir, "state_", &n);
    if (!steps || n == 0) { free(steps); return; }
    char path[TRAIN_PATH_MAX + 64];
    // delete the state first: a model without its state is never picked by --resume
    for (size_t i = keep; i < n; i++) {
        ckpt_state_path(path, sizeof path, dir, steps[i]); unlink(path);
        ckpt_model_path(path, sizeof path, dir, steps[i]); unlink(path);
    }
    // a model whose state never got written (killed in between) and is older than what we keep
    uint64_t oldest_kept = steps[(size_t)keep < n ? (size_t)keep - 1 : n - 1];
    uint64_t *models = list_steps(dir, "model_", &nm);
    for (size_t i = 0; models && i < nm; i++)
        if (models[i] < oldest_kept) { ckpt_model_path(path, sizeof path, dir, models[i]); unlink(path); }
    free(models);
    free(steps);
    ckpt_model_path(path, sizeof path, dir, 0);
    fsync_parent_dir(path);
}
