// tools/make_q6k_fixture.c — tests/fixtures/gguf/q6_k.bin: Q6_K blocks made by llama.cpp's ggml
// (quantize_row_q6_K_ref) and ggml's own dequantization of them, for tests/test_quant.c.
//
//   gcc -O1 tools/make_q6k_fixture.c -o /tmp/make_q6k -LLLAMA_CPP/build/bin -lggml-base \
//       -Wl,-rpath,LLAMA_CPP/build/bin && /tmp/make_q6k tests/fixtures/gguf/q6_k.bin
//
// LLAMA_CPP: a llama.cpp checkout built with cmake (the shared library libggml-base.so).
// File: u32 rows, u32 K, then rows*K/256 blocks of 210 bytes, then rows*K f32 (ggml's
// dequantize_row_q6_K of those blocks), little-endian.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void quantize_row_q6_K_ref(const float *x, void *y, int64_t k);   // ggml/src/ggml-quants.h
void dequantize_row_q6_K(const void *x, float *y, int64_t k);
struct ggml_init_params { size_t mem_size; void *mem_buffer; _Bool no_alloc; };   // ggml/include/ggml.h
void *ggml_init(struct ggml_init_params params);  // fills ggml's f16 -> f32 table, which dequantize reads
void ggml_free(void *ctx);

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s OUT\n", argv[0]); return 1; }
    enum { ROWS = 8, K = 512 };
    static float x[ROWS * K], y[ROWS * K];
    static unsigned char blocks[ROWS * K / 256 * 210];
    uint64_t s = 42;
    for (int i = 0; i < ROWS * K; i++) {  // rows of different scales, some outliers
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        float u = (float)((s >> 40) / 16777216.0) - 0.5f;
        x[i] = u * (float)(1 + i / K) * (i % 97 == 0 ? 8.0f : 1.0f);
    }
    void *ctx = ggml_init((struct ggml_init_params){1024, NULL, 1});
    quantize_row_q6_K_ref(x, blocks, ROWS * K);
    dequantize_row_q6_K(blocks, y, ROWS * K);
    ggml_free(ctx);
    FILE *f = fopen(argv[1], "wb");
    uint32_t hdr[2] = {ROWS, K};
    if (!f || fwrite(hdr, 4, 2, f) != 2 || fwrite(blocks, 1, sizeof blocks, f) != sizeof blocks ||
        fwrite(y, 4, ROWS * K, f) != ROWS * K || fclose(f) != 0) { perror(argv[1]); return 1; }
    return 0;
}
