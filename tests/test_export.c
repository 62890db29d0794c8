// tests/test_export.c — formats/hf_writer.c's safetensors against the source file it came from:
// transformers' tensor names and shapes, every f32 weight unchanged, every bf16 weight the
// source's rounded to nearest even (model/dtype.h f32_to_bf16, checked on its own against
// hand-picked ties first). The whole-program checks (transformers' logits, the tokenizer) are
// in tests/export_test.sh.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "formats/hf_writer.h"
#include "formats/safetensors.h"
#include "infer/load.h"
#include "tests/test.h"

static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

// Exports dir in dtype to a temporary folder; compares its model.safetensors with dir's.
static void check_export(const char *dir, DType dtype) {
    char err[512], tmp[] = "/tmp/test_export.XXXXXX", path[4096];
    LoadedModel lm;
    if (!mkdtemp(tmp) || load_model(&lm, dir, 0, err, sizeof err) != 0) { CHECK(0, "load %s: %s", dir, err); return; }
    HfWriteInfo info = {lm.bos_id, lm.eos_ids, lm.n_eos, lm.hf.max_position_embeddings};
    int rc = hf_write(lm.m, &info, tmp, dtype, err, sizeof err);
    CHECK(rc == 0, "hf_write %s %s: %s", dir, dtype_name(dtype), rc ? err : "ok");
    SafeTensors src, out;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int a = safetensors_open(&src, path, err, sizeof err);
    snprintf(path, sizeof path, "%s/model.safetensors", tmp);
    int b = rc == 0 ? safetensors_open(&out, path, err, sizeof err) : -1;
    if (a || b) { CHECK(0, "open: %s", err); unload_model(&lm); return; }
    CHECK(src.n_tensors == out.n_tensors, "%s %s: %d tensors, the source has %d", dir, dtype_name(dtype),
          out.n_tensors, src.n_tensors);
    int missing = 0, shape = 0;
    size_t wrong = 0, total = 0;
    for (int i = 0; i < src.n_tensors; i++) {
        const SafeTensor *s = &src.tensors[i], *o = safetensors_find(&out, s->name);
        if (!o) { missing++; continue; }
        if (o->ndim != s->ndim || memcmp(o->shape, s->shape, sizeof s->shape) || o->dtype != (int)dtype) { shape++; continue; }
        size_t n = 1;
        for (int d = 0; d < s->ndim; d++) n *= (size_t)s->shape[d];
        Mat sm = {s->data, (DType)s->dtype};
        for (size_t k = 0; k < n; k++, total++) {
            float x = mat_get(sm, k);
            if (dtype == DTYPE_F32) { float y; memcpy(&y, (const char *)o->data + 4 * k, 4); wrong += memcmp(&x, &y, 4) != 0; }
            else { uint16_t h; memcpy(&h, (const char *)o->data + 2 * k, 2); wrong += h != f32_to_bf16(x); }
        }
    }
    CHECK(missing == 0 && shape == 0 && wrong == 0 && total > 0,
          "%s -> %s: every tensor under its transformers name and shape, %zu values %s: %d missing, %d bad shape/dtype, %zu wrong",
          dir, dtype_name(dtype), total, dtype == DTYPE_F32 ? "the same bits" : "rounded to nearest even", missing, shape, wrong);
    safetensors_close(&src);
    safetensors_close(&out);
    unload_model(&lm);
    snprintf(path, sizeof path, "rm -rf '%s'", tmp);
    if (system(path) != 0) fprintf(stderr, "could not remove %s\n", tmp);
}

int main(void) {
    // f32 -> bf16 ties: 1 + 2^-8 (halfway between 1 and 1 + 2^-7) rounds to the even 1;
    // 1 + 3*2^-8 rounds up to 1 + 2^-6; just above a tie rounds up
    CHECK(f32_to_bf16(from_bits(0x3f808000u)) == 0x3f80 && f32_to_bf16(from_bits(0x3f818000u)) == 0x3f82 &&
          f32_to_bf16(from_bits(0x3f808001u)) == 0x3f81 && f32_to_bf16(from_bits(0x3f807fffu)) == 0x3f80,
          "f32_to_bf16 rounds to nearest, ties to even");
    check_export("tests/fixtures/hf_llama2_fp32", DTYPE_F32);
    check_export("tests/fixtures/hf_llama2_fp32", DTYPE_BF16);
    return test_summary();
}
