// tools/make_kquant_fixture.c — tests/fixtures/gguf/q4_k.bin, q5_k.bin, q6_k.bin: K-quant blocks
// made by llama.cpp's ggml (quantize_row_q{4,5,6}_K_ref) and ggml's own dequantization of them,
// for tests/test_quant.c.
//
//   gcc -O1 tools/make_kquant_fixture.c -o /tmp/make_kquant -LLLAMA_CPP/build/bin -lggml-base \
//       -Wl,-rpath,LLAMA_CPP/build/bin
//   for t in q4_k q5_k q6_k; do /tmp/make_kquant $t tests/fixtures/gguf/$t.bin; done
//
// LLAMA_CPP: a llama.cpp checkout built with cmake (the shared library libggml-base.so).
// File: u32 rows, u32 K, then rows*K/256 blocks (144, 176 or 210 bytes), then rows*K f32
// (ggml's dequantize_row_q*_K of those blocks), little-endian.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ggml/src/ggml-quants.h
void quantize_row_q4_K_ref(const float *x, void *y, int64_t k);
void quantize_row_q5_K_ref(const float *x, void *y, int64_t k);
void quantize_row_q6_K_ref(const float *x, void *y, int64_t k);
void dequantize_row_q4_K(const void *x, float *y, int64_t k);
void dequantize_row_q5_K(const void *x, float *y, int64_t k);
void dequantize_row_q6_K(const void *x, float *y, int64_t k);
struct ggml_init_params { size_t mem_size; void *mem_buffer; _Bool no_alloc; };   // ggml/include/ggml.h
void *ggml_init(struct ggml_init_params params);  // fills ggml's f16 -> f32 table, which dequantize reads
void ggml_free(void *ctx);

static const struct {
    const char *name;
    size_t block;
    void (*quantize)(const float *, void *, int64_t);
    void (*dequantize)(const void *, float *, int64_t);
} types[] = {{"q4_k", 144, quantize_row_q4_K_ref, dequantize_row_q4_K},
             {"q5_k", 176, quantize_row_q5_K_ref, dequantize_row_q5_K},
             {"q6_k", 210, quantize_row_q6_K_ref, dequantize_row_q6_K}};

int main(int argc, char **argv) {
    int t = 0;
    while (argc == 3 && t < 3 && strcmp(argv[1], types[t].name) != 0) t++;
    if (argc != 3 || t == 3) { fprintf(stderr, "usage: %s q4_k|q5_k|q6_k OUT\n", argv[0]); return 1; }
    enum { ROWS = 8, K = 512 };
    static float x[ROWS * K], y[ROWS * K];
    static unsigned char blocks[ROWS * K / 256 * 210];
    size_t nb = ROWS * K / 256 * types[t].block;
    uint64_t s = 42;
    for (int i = 0; i < ROWS * K; i++) {  // rows of different scales, some outliers
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        float u = (float)((s >> 40) / 16777216.0) - 0.5f;
        x[i] = u * (float)(1 + i / K) * (i % 97 == 0 ? 8.0f : 1.0f);
        if (i / K == ROWS - 1) x[i] = -1.0f - 2.0f * (u + 0.5f);   // a row in [-3, -1]: large mins
    }
    void *ctx = ggml_init((struct ggml_init_params){1024, NULL, 1});
    types[t].quantize(x, blocks, ROWS * K);
    types[t].dequantize(blocks, y, ROWS * K);
    ggml_free(ctx);
    FILE *f = fopen(argv[2], "wb");
    uint32_t hdr[2] = {ROWS, K};
    if (!f || fwrite(hdr, 4, 2, f) != 2 || fwrite(blocks, 1, nb, f) != nb ||
        fwrite(y, 4, ROWS * K, f) != ROWS * K || fclose(f) != 0) { perror(argv[2]); return 1; }
    return 0;
}
