// formats/checkpoint.c — see checkpoint.h for the format.
#include "formats/checkpoint.h"
#include "util/atomic_file.h"
#include "util/serial.h"
#include "util/sha256.h"
#include "util/files.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void put_config(SerialOut *o, const Config *c) {
    ser_i32(o, c->dim); ser_i32(o, c->n_layers); ser_i32(o, c->n_heads); ser_i32(o, c->n_kv_heads);
    ser_i32(o, c->head_dim); ser_i32(o, c->hidden_dim); ser_i32(o, c->vocab_size);
    ser_i32(o, c->max_seq_len); ser_i32(o, c->tied_embeddings); ser_i32(o, c->rope_original_max_pos);
    ser_f32(o, c->norm_eps); ser_f32(o, c->rope_theta); ser_f32(o, c->rope_factor);
    ser_f32(o, c->rope_low_freq_factor); ser_f32(o, c->rope_high_freq_factor); ser_f32(o, c->dropout);
}

static void get_config(SerialIn *in, Config *c) {
    memset(c, 0, sizeof *c);
    c->dim = des_i32(in); c->n_layers = des_i32(in); c->n_heads = des_i32(in); c->n_kv_heads = des_i32(in);
    c->head_dim = des_i32(in); c->hidden_dim = des_i32(in); c->vocab_size = des_i32(in);
    c->max_seq_len = des_i32(in); c->tied_embeddings = des_i32(in); c->rope_original_max_pos = des_i32(in);
    c->norm_eps = des_f32(in); c->rope_theta = des_f32(in); c->rope_factor = des_f32(in);
    c->rope_low_freq_factor = des_f32(in); c->rope_high_freq_factor = des_f32(in); c->dropout = des_f32(in);
}

int checkpoint_save_step(const Model *m, const char *path, const char *tokenizer_path,
                         const char *tokenizer_pattern, uint64_t step, char *err, size_t errlen) {
    if (!m->params_memory) { snprintf(err, errlen, "%s: model has no f32 parameters to save", path); return -1; }
    char sha[65] = "";
    if (tokenizer_path && *tokenizer_path && sha256_file_hex(tokenizer_path, sha) != 0) {
        snprintf(err, errlen, "%s: cannot read tokenizer %s to hash it", path, tokenizer_path);
        return -1;
    }
    size_t nbytes = m->num_parameters * sizeof(float);
    SerialOut o = {0};
    ser_bytes(&o, CHECKPOINT_MAGIC, 8);
    ser_u32(&o, CHECKPOINT_VERSION);
    ser_u32(&o, 0);                       // header_bytes: ser_end_header fills it in
    put_config(&o, &m->config);
    ser_u64(&o, step);
    ser_u64(&o, m->num_parameters);
    ser_u64(&o, checksum64(m->params_memory, nbytes));
    ser_str(&o, tokenizer_path ? tokenizer_path : "");
    ser_str(&o, sha);
    ser_str(&o, tokenizer_pattern ? tokenizer_pattern : "");
    ser_end_header(&o);                   // checksum, padding to 64 bytes, header_bytes
    if (o.oom) { free(o.p); snprintf(err, errlen, "%s: out of memory", path); return -1; }

    AtomicFile af;
    int rc = -1;
    if (atomic_open(&af, path, err, errlen)) goto out;
    if (atomic_write(&af, o.p, o.n, err, errlen) ||
        atomic_write(&af, m->params_memory, nbytes, err, errlen)) { atomic_abort(&af); goto out; }
    rc = atomic_commit(&af, err, errlen);
out:
    free(o.p);
    return rc;
}

// Sizes must be sane before fill_in_parameter_sizes multiplies them: bound every dimension so
// no product can overflow, and leave the finer rules (heads divide, etc.) to model_create.
static const char *config_sanity(const Config *c) {
    const int big = 1 << 20;
    if (c->dim <= 0 || c->dim > big) return "dim";
    if (c->n_layers <= 0 || c->n_layers > 4096) return "n_layers";
    if (c->n_heads <= 0 || c->n_heads > 4096) return "n_heads";
    if (c->n_kv_heads <= 0 || c->n_kv_heads > c->n_heads) return "n_kv_heads";
    if (c->head_dim <= 0 || c->head_dim > 4096) return "head_dim";
    if (c->hidden_dim <= 0 || c->hidden_dim > big) return "hidden_dim";
    if (c->vocab_size <= 0 || c->vocab_size > (1 << 24)) return "vocab_size";
    if (c->max_seq_len <= 0 || c->max_seq_len > big) return "max_seq_len";
    if (c->tied_embeddings != 0 && c->tied_embeddings != 1) return "tied_embeddings";
    if (!(c->norm_eps > 0 && c->norm_eps < 1)) return "norm_eps";
    if (!(c->rope_theta > 0 && c->rope_theta < 1e30f)) return "rope_theta";
    if (!(c->dropout >= 0 && c->dropout < 1)) return "dropout";
    if (!(c->rope_factor >= 0 && c->rope_factor < 1e6f)) return "rope_factor";
    if (c->rope_original_max_pos < 0) return "rope_original_max_pos";
    return NULL;
}

// Reads the header from fp (positioned at 0) into info; the file is `size` bytes long.
static int read_header(FILE *fp, const char *path, size_t size, CheckpointInfo *info, char *err, size_t errlen) {
    memset(info, 0, sizeof *info);
    uint8_t fixed[16];
    if (size < 16 || fread(fixed, 1, 16, fp) != 16) {
        snprintf(err, errlen, "%s: %zu bytes, too short for a checkpoint header (truncated?)", path, size);
        return -1;
    }
    if (memcmp(fixed, CHECKPOINT_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not a scratchllama model checkpoint (bad magic)", path);
        return -1;
    }
    uint32_t version, hb;
    memcpy(&version, fixed + 8, 4);
    memcpy(&hb, fixed + 12, 4);
    if (version != CHECKPOINT_VERSION) {
        snprintf(err, errlen, "%s: checkpoint version %u, this program reads version %d", path, version, CHECKPOINT_VERSION);
        return -1;
    }
    uint8_t *buf = ser_read_header(fp, fixed, size, 3 * CHECKPOINT_PATH_MAX, path, err, errlen);
    if (!buf) return -1;
    SerialIn in = {buf, hb, 16, 0};
    get_config(&in, &info->config);
    info->step = des_u64(&in);
    uint64_t np = des_u64(&in);
    info->checksum = des_u64(&in);
    des_str(&in, info->tokenizer_path, sizeof info->tokenizer_path);
    des_str(&in, info->tokenizer_sha256, sizeof info->tokenizer_sha256);
    des_str(&in, info->tokenizer_pattern, sizeof info->tokenizer_pattern);
    // the header's own checksum: a flipped bit in the config would otherwise load as another
    // model (files written before it existed have zero padding here: not checked)
    size_t hsum_at = in.off;
    uint64_t hsum = in.n - in.off >= 8 ? des_u64(&in) : 0;
    int hsum_bad = !in.bad && hsum != 0 && hsum != checksum64(buf, hsum_at);
    free(buf);
    if (in.bad) { snprintf(err, errlen, "%s: malformed checkpoint header", path); return -1; }
    if (hsum_bad) { snprintf(err, errlen, "%s: header checksum mismatch (file corrupt)", path); return -1; }
    const char *bad = config_sanity(&info->config);
    if (bad) { snprintf(err, errlen, "%s: config field %s has an impossible value", path, bad); return -1; }
    size_t sizes[NUM_PARAM_TENSORS], total = 0;
    fill_in_parameter_sizes(sizes, &info->config);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) total += sizes[i];
    if (np != total) {
        snprintf(err, errlen, "%s: header says %llu parameters but its config needs %zu", path,
                 (unsigned long long)np, total);
        return -1;
    }
    info->num_parameters = total;
    info->header_bytes = hb;
    if (size != hb + total * sizeof(float)) {
        snprintf(err, errlen, "%s: %zu bytes, expected %zu for %zu parameters (truncated or corrupt)", path,
                 size, hb + total * sizeof(float), total);
        return -1;
    }
    return 0;
}

static FILE *open_sized(const char *path, size_t *size, char *err, size_t errlen) {
    const char *why;
    FILE *fp = fopen_regular(path, &why);
    if (!fp) { snprintf(err, errlen, "%s: %s", path, why); return NULL; }
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        fclose(fp);
        return NULL;
    }
    *size = (size_t)st.st_size;
    return fp;
}

int checkpoint_read_info(const char *path, CheckpointInfo *info, char *err, size_t errlen) {
    size_t size;
    FILE *fp = open_sized(path, &size, err, errlen);
    if (!fp) return -1;
    int rc = read_header(fp, path, size, info, err, errlen);
    fclose(fp);
    return rc;
}

Model *checkpoint_load_info(const char *path, CheckpointInfo *info_out, char *err, size_t errlen) {
    CheckpointInfo local, *info = info_out ? info_out : &local;
    size_t size;
    FILE *fp = open_sized(path, &size, err, errlen);
    if (!fp) return NULL;
    if (read_header(fp, path, size, info, err, errlen)) { fclose(fp); return NULL; }
    char merr[256];
    Model *m = model_create(&info->config, 1, merr, sizeof merr);
    if (!m) {
        snprintf(err, errlen, "%s: %s", path, merr);
        fclose(fp);
        return NULL;
    }
    size_t nbytes = info->num_parameters * sizeof(float);
    if (m->num_parameters != info->num_parameters || fseek(fp, (long)info->header_bytes, SEEK_SET) != 0 ||
        fread(m->params_memory, 1, nbytes, fp) != nbytes) {
        snprintf(err, errlen, "%s: cannot read the parameters (truncated?)", path);
        fclose(fp);
        model_free(m);
        return NULL;
    }
    fclose(fp);
    if (checksum64(m->params_memory, nbytes) != info->checksum) {
        snprintf(err, errlen, "%s: parameter checksum mismatch (file corrupt)", path);
        model_free(m);
        return NULL;
    }
    model_point_weights(m);
    return m;
}

Model *checkpoint_load(const char *path, char *err, size_t errlen) {
    return checkpoint_load_info(path, NULL, err, errlen);
}
