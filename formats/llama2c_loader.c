// formats/llama2c_loader.c — see llama2c_loader.h for the two file layouts.
#include "formats/llama2c_loader.h"
#include "util/errors.h"
#include "util/files.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void llama2c_permute_rope_rows(float *dst, const float *src, int L, int n_heads, int head_dim, int C) {
    const int half = head_dim / 2;
    for (int64_t h = 0; h < (int64_t)L * n_heads; h++) { // every head of every layer
        const float *s = src + h * head_dim * C;
        float *d = dst + h * head_dim * C;
        for (int j = 0; j < half; j++) {
            memcpy(d + (size_t)j * C, s + (size_t)(2 * j) * C, C * sizeof(float));
            memcpy(d + (size_t)(j + half) * C, s + (size_t)(2 * j + 1) * C, C * sizeof(float));
        }
    }
}

Model *llama2c_load(const char *path, int max_seq_len, char *err, size_t errlen) {
    const char *why;
    int fd = open_regular(path, &why);
    if (fd < 0) return fail_null(err, errlen, "%s: cannot open: %s", path, why);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return fail_null(err, errlen, "%s: not a regular file", path);
    }
    const size_t size = (size_t)sb.st_size;
    if (size < 28) {
        close(fd);
        return fail_null(err, errlen, "%s: truncated: %zu bytes, too short for a llama2.c header", path, size);
    }
    const char *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return fail_null(err, errlen, "%s: mmap failed: %s", path, strerror(errno));

    // ---- header ----
    uint32_t magic;
    memcpy(&magic, map, 4);
    int v1 = magic == LLAMA2C_MAGIC, shared;
    int32_t h[7]; // dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
    size_t header_bytes;
    Model *m = NULL;
    if (v1) {
        int32_t version;
        header_bytes = 256;
        if (size < header_bytes) { fail_null(err, errlen, "%s: truncated: %zu bytes, the v1 header alone is 256", path, size); goto out; }
        memcpy(&version, map + 4, 4);
        if (version != 1) {
            fail_null(err, errlen, "%s: llama2.c format version %d is not supported (only float32 v0 and v1)", path, version);
            goto out;
        }
        memcpy(h, map + 8, sizeof h);
        shared = map[36] != 0;
    } else {
        header_bytes = 28;
        memcpy(h, map, sizeof h);
        shared = h[5] > 0; // negative vocab_size flags an unshared classifier
        if (h[5] < 0 && h[5] != INT32_MIN) h[5] = -h[5];
    }
    const int C = h[0], H = h[1], L = h[2], NH = h[3], NKV = h[4], V = h[5], S = h[6];
    if (C <= 0 || H <= 0 || L <= 0 || NH <= 0 || NKV <= 0 || V <= 0 || S <= 0 || L > 4096 ||
        C > (1 << 20) || H > (1 << 20) || V > (1 << 22) || S > (1 << 24) || NH > C || NKV > NH) {
        fail_null(err, errlen, "%s: not a llama2.c checkpoint (header dim=%d hidden_dim=%d n_layers=%d n_heads=%d "
             "n_kv_heads=%d vocab_size=%d seq_len=%d)", path, h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
        goto out;
    }
    if (C % NH || NH % NKV || (C / NH) % 2) {
        fail_null(err, errlen, "%s: dim %d, n_heads %d, n_kv_heads %d do not divide into even heads", path, C, NH, NKV);
        goto out;
    }
    const int HD = C / NH;

    // ---- the exact file size this header implies ----
    const uint64_t c = C, hd = H, l = L, v = V, s = S, kvd = (uint64_t)NKV * HD;
    uint64_t floats = v * c                      // tok_emb
                      + 2 * l * c + c            // rms_att, rms_ffn, rms_final
                      + l * c * c * 2            // wq, wo
                      + l * c * kvd * 2          // wk, wv
                      + l * c * hd * 3           // w1, w2, w3
                      + (shared ? 0 : v * c);    // wcls
    if (!v1) floats += s * (HD / 2) * 2;         // freq_cis_real, freq_cis_imag
    uint64_t want = header_bytes + 4 * floats;    // the bounds above keep this far below 2^64
    if (size != want) {
        fail_null(err, errlen, "%s: file is %zu bytes but its llama2.c %s header implies %llu "
             "(dim=%d hidden_dim=%d n_layers=%d n_heads=%d n_kv_heads=%d vocab_size=%d seq_len=%d, %s classifier)",
             path, size, v1 ? "v1" : "legacy", (unsigned long long)want, C, H, L, NH, NKV, V, S,
             shared ? "shared" : "unshared");
        goto out;
    }
    if (max_seq_len > S) {
        fail_null(err, errlen, "%s: context %d is longer than the model's seq_len %d", path, max_seq_len, S);
        goto out;
    }

    Config cfg = {0};
    cfg.dim = C; cfg.hidden_dim = H; cfg.n_layers = L; cfg.n_heads = NH; cfg.n_kv_heads = NKV;
    cfg.head_dim = HD; cfg.vocab_size = V; cfg.max_seq_len = max_seq_len > 0 ? max_seq_len : S;
    cfg.norm_eps = 1e-5f;     // llama2.c's model.py and run.c
    cfg.rope_theta = 10000.0f; // run.c: freq = 1 / 10000^(2i/HD)
    cfg.tied_embeddings = shared;
    m = model_create(&cfg, 1, err, errlen);
    if (!m) goto out;

    // ---- copy, in file order ----
    ParameterTensors *p = &m->params;
    const float *f = (const float *)(map + header_bytes); // 28 and 256 keep 4-byte alignment
#define TAKE(dst, n) do { memcpy(dst, f, (size_t)(n) * sizeof(float)); f += (n); } while (0)
#define TAKE_ROPE(dst, rows) do { llama2c_permute_rope_rows(dst, f, L, (rows) / HD, HD, C); \
                                  f += (size_t)L * (rows) * C; } while (0)
    if (v1) {
        TAKE(p->rms_att, l * c);
        TAKE(p->rms_ffn, l * c);
        TAKE(p->rms_final, c);
        TAKE(p->tok_emb, v * c);
        TAKE_ROPE(p->wq, C);
        TAKE_ROPE(p->wk, (int)kvd);
        TAKE(p->wv, l * kvd * c);
        TAKE(p->wo, l * c * c);
        TAKE(p->w1, l * hd * c);
        TAKE(p->w2, l * c * hd);
        TAKE(p->w3, l * hd * c);
    } else {
        TAKE(p->tok_emb, v * c);
        TAKE(p->rms_att, l * c);
        TAKE_ROPE(p->wq, C);
        TAKE_ROPE(p->wk, (int)kvd);
        TAKE(p->wv, l * kvd * c);
        TAKE(p->wo, l * c * c);
        TAKE(p->rms_ffn, l * c);
        TAKE(p->w1, l * hd * c);
        TAKE(p->w2, l * c * hd);
        TAKE(p->w3, l * hd * c);
        TAKE(p->rms_final, c);
        f += s * (HD / 2) * 2; // RoPE tables: the model computes its own
    }
    if (!shared) TAKE(p->lm_head, v * c);
#undef TAKE
#undef TAKE_ROPE
    model_point_weights(m);
out:
    munmap((void *)map, size);
    return m;
}
