// formats/lora_checkpoint.c — see lora_checkpoint.h for the format.
#include "formats/lora_checkpoint.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/serial.h"
#include "util/sha256.h"

int lora_checkpoint_save(const Lora *l, const Config *c, const char *path, const char *base_path,
                         const char *base_sha256, const char *tokenizer_path, const char *tokenizer_pattern,
                         uint64_t step, char *err, size_t errlen) {
    char sha[65] = "";
    if (tokenizer_path && *tokenizer_path && sha256_file_hex(tokenizer_path, sha) != 0)
        return fail(err, errlen, "%s: cannot read tokenizer %s to hash it", path, tokenizer_path);
    size_t nbytes = l->num_parameters * sizeof(float);
    SerialOut o = {0};
    ser_bytes(&o, LORA_CKPT_MAGIC, 8);
    ser_u32(&o, LORA_CKPT_VERSION);
    ser_u32(&o, 0);                       // header_bytes: ser_end_header fills it in
    ser_i32(&o, l->rank); ser_u32(&o, l->targets); ser_f32(&o, l->alpha);
    ser_i32(&o, c->dim); ser_i32(&o, c->n_layers); ser_i32(&o, c->n_heads); ser_i32(&o, c->n_kv_heads);
    ser_i32(&o, c->head_dim); ser_i32(&o, c->hidden_dim); ser_i32(&o, c->vocab_size);
    ser_u64(&o, step);
    ser_u64(&o, l->num_parameters);
    ser_u64(&o, checksum64(l->params, nbytes));
    ser_str(&o, base_path);
    ser_str(&o, base_sha256);
    ser_str(&o, tokenizer_path ? tokenizer_path : "");
    ser_str(&o, sha);
    ser_str(&o, tokenizer_pattern ? tokenizer_pattern : "");
    ser_end_header(&o);
    if (o.oom) { free(o.p); return fail(err, errlen, "%s: out of memory", path); }
    AtomicFile af;
    int rc = -1;
    if (atomic_open(&af, path, err, errlen)) goto out;
    if (atomic_write(&af, o.p, o.n, err, errlen) || atomic_write(&af, l->params, nbytes, err, errlen)) {
        atomic_abort(&af);
        goto out;
    }
    rc = atomic_commit(&af, err, errlen);
out:
    free(o.p);
    return rc;
}

int lora_checkpoint_is(const char *path) {
    const char *why;
    FILE *fp = fopen_regular(path, &why);
    char head[8];
    int is = fp && fread(head, 1, 8, fp) == 8 && !memcmp(head, LORA_CKPT_MAGIC, 8);
    if (fp) fclose(fp);
    return is;
}

Lora *lora_checkpoint_load(const char *path, LoraInfo *info, char *err, size_t errlen) {
    memset(info, 0, sizeof *info);
    const char *why;
    FILE *fp = fopen_regular(path, &why);
    if (!fp) return fail_null(err, errlen, "%s: %s", path, why);
    struct stat st;
    uint8_t fixed[16], *buf = NULL;
    Lora *l = NULL;
    fstat(fileno(fp), &st);
    size_t size = (size_t)st.st_size;
    if (size < 16 || fread(fixed, 1, 16, fp) != 16) { fail(err, errlen, "%s: %zu bytes, too short for a LoRA checkpoint (truncated?)", path, size); goto out; }
    if (memcmp(fixed, LORA_CKPT_MAGIC, 8)) { fail(err, errlen, "%s: not a LoRA checkpoint (bad magic)", path); goto out; }
    uint32_t version, hb;
    memcpy(&version, fixed + 8, 4);
    memcpy(&hb, fixed + 12, 4);
    if (version != LORA_CKPT_VERSION) { fail(err, errlen, "%s: LoRA checkpoint version %u, this program reads version %d", path, version, LORA_CKPT_VERSION); goto out; }
    buf = ser_read_header(fp, fixed, size, 3 * LORA_PATH_MAX + 512, path, err, errlen);
    if (!buf) goto out;
    SerialIn in = {buf, hb, 16, 0};
    info->rank = des_i32(&in); info->targets = des_u32(&in); info->alpha = des_f32(&in);
    Config *c = &info->shape;
    c->dim = des_i32(&in); c->n_layers = des_i32(&in); c->n_heads = des_i32(&in); c->n_kv_heads = des_i32(&in);
    c->head_dim = des_i32(&in); c->hidden_dim = des_i32(&in); c->vocab_size = des_i32(&in);
    info->step = des_u64(&in);
    uint64_t np = des_u64(&in);
    info->checksum = des_u64(&in);
    des_str(&in, info->base_path, sizeof info->base_path);
    des_str(&in, info->base_sha256, sizeof info->base_sha256);
    des_str(&in, info->tokenizer_path, sizeof info->tokenizer_path);
    des_str(&in, info->tokenizer_sha256, sizeof info->tokenizer_sha256);
    des_str(&in, info->tokenizer_pattern, sizeof info->tokenizer_pattern);
    size_t hsum_at = in.off;
    uint64_t hsum = des_u64(&in);
    if (in.bad) { fail(err, errlen, "%s: malformed LoRA checkpoint header", path); goto out; }
    if (hsum != checksum64(buf, hsum_at)) { fail(err, errlen, "%s: header checksum mismatch (file corrupt)", path); goto out; }
    // every size bounded before lora_create multiplies them (as formats/checkpoint.c does)
    if (c->dim < 1 || c->dim > (1 << 20) || c->n_layers < 1 || c->n_layers > 4096 || c->n_heads < 1 ||
        c->n_heads > 4096 || c->n_kv_heads < 1 || c->n_kv_heads > c->n_heads || c->head_dim < 1 ||
        c->head_dim > 4096 || c->hidden_dim < 1 || c->hidden_dim > (1 << 20) || c->vocab_size < 1 ||
        info->rank > (1 << 16) || strlen(info->base_sha256) != 64) {
        fail(err, errlen, "%s: impossible sizes in the header", path);
        goto out;
    }
    char e2[300];
    l = lora_create(c, info->rank, info->alpha, info->targets, e2, sizeof e2);
    if (!l) { fail(err, errlen, "%s: %s", path, e2); goto out; }
    size_t nbytes = l->num_parameters * sizeof(float);
    if (np != l->num_parameters || size != hb + nbytes) {
        fail(err, errlen, "%s: %zu bytes, expected %zu for %zu adapter parameters (truncated or corrupt)", path, size,
             hb + nbytes, l->num_parameters);
        goto bad;
    }
    if (fread(l->params, 1, nbytes, fp) != nbytes) { fail(err, errlen, "%s: cannot read the adapters", path); goto bad; }
    if (checksum64(l->params, nbytes) != info->checksum) { fail(err, errlen, "%s: adapter checksum mismatch (file corrupt)", path); goto bad; }
    info->num_parameters = l->num_parameters;
    info->header_bytes = hb;
    goto out;
bad:
    lora_free(l);
    l = NULL;
out:
    free(buf);
    fclose(fp);
    return l;
}

// the files of a folder that make its weights, in name order
static int base_file(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return !strcmp(e->d_name, "config.json") || !strcmp(e->d_name, "model.safetensors.index.json") ||
           (n > 12 && !strcmp(e->d_name + n - 12, ".safetensors"));
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

int lora_base_sha256(const char *path, char hex[65], char *err, size_t errlen) {
    struct stat st;
    if (stat(path, &st) != 0) return fail(err, errlen, "%s: %s", path, strerror(errno));
    Sha256 s;
    sha256_init(&s);
    if (!S_ISDIR(st.st_mode)) {
        if (sha256_update_file(&s, path) != 0) return fail(err, errlen, "%s: cannot read it to hash it", path);
        sha256_final_hex(&s, hex);
        return 0;
    }
    struct dirent **list;
    int n = scandir(path, &list, base_file, by_name), rc = 0;
    if (n < 0) return fail(err, errlen, "%s: %s", path, strerror(errno));
    for (int i = 0; i < n; i++) {
        char p[LORA_PATH_MAX + 300];
        snprintf(p, sizeof p, "%s/%s", path, list[i]->d_name);
        if (!rc && sha256_update_file(&s, p) != 0) rc = fail(err, errlen, "%s: cannot read it to hash it", p);
        free(list[i]);
    }
    free(list);
    if (!rc && n == 0) rc = fail(err, errlen, "%s: no config.json or safetensors in it", path);
    if (!rc) sha256_final_hex(&s, hex);
    return rc;
}
