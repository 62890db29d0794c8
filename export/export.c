// export/export.c — bin/export: write any model bin/infer loads (our checkpoint, a Hugging Face
// folder, a llama2.c .bin, a GGUF, a LoRA checkpoint with its adapters merged) as a Hugging Face
// folder that transformers loads, or as a GGUF file that llama.cpp loads; or a LoRA checkpoint's
// adapters alone as a folder peft loads.
//
//   bin/export MODEL OUT --format hf [--dtype bf16|f32]
//   bin/export MODEL OUT.gguf --format gguf [--quant bf16|f16|f32|q8_0|q4_0] [--awq CALIB.txt]
//   bin/export LORA_CKPT OUT --format peft
//
// A LoRA checkpoint as MODEL of hf / gguf is merged first (model/lora.h lora_merge: each adapted
// matrix becomes W + (alpha/R) B A in f32, then converted to the output dtype).
// gguf (formats/gguf_writer.h): with q8_0 / q4_0 the model is quantized as bin/infer --quant
// does it (the output head to q8_0), so the file's logits are bin/infer --quant's; with --awq,
// as bin/infer --quant --awq does it (model/awq.h: the scales are folded into the weights and
// RMSNorm weights written, so llama.cpp runs the file as it is).
//
// OUT (a directory, created when missing) gets config.json, model.safetensors
// (formats/hf_writer.h) and the tokenizer: a Hugging Face source's tokenizer files as they are,
// otherwise the model's tokenizer file (a tiktoken rank file as tokenizer.model, llama2.c's
// SentencePiece tokenizer.bin as tokenizer.bin, a tokenizer.json as tokenizer.json; a rank file's split pattern, when the model
// names one, as tokenizer.model.pattern).
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "formats/gguf_writer.h"
#include "formats/hf_writer.h"
#include "formats/lora_checkpoint.h"
#include "formats/peft.h"
#include "infer/load.h"
#include "infer/tokenizer.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/flags.h"
#include "util/read_file.h"

// ---- the command line: one row per flag (util/flags.h) ----

typedef struct {
    int format;   // hf, gguf, peft
    char dtype[8];   // hf: bf16, f32
    int quant;    // gguf: bf16, f16, f32, q8_0, q4_0
    const char *awq;   // gguf q8_0/q4_0: the calibration text of activation-aware scales
    int awq_tokens;
} ExportOptions;

#define F(field) FLAG_FIELD(ExportOptions, field)
static const FlagRow rows[] = {
    {"format", K_ENUM, F(format), 0, 0, 0, "hf,gguf,peft", NULL, 0, 0, "hf|gguf|peft",
     "hf: config.json + model.safetensors + tokenizer; gguf: one llama.cpp\n"
     "file with the tokenizer in its metadata; peft: a LoRA checkpoint's\n"
     "adapters as adapter_config.json + adapter_model.safetensors (required)"},
    {"dtype", K_CHOICE, F(dtype), 0, 0, 0, "bf16,f32", "bf16", 0, 0, "bf16|f32", "hf: the weights' dtype in the safetensors file"},
    {"quant", K_ENUM, F(quant), 0, 0, 0, "bf16,f16,f32,q8_0,q4_0", "bf16", 0, 0, "TYPE",
     "gguf: bf16, f16, f32, q8_0 or q4_0; q8_0/q4_0 quantize as bin/infer\n"
     "--quant does, the output head to q8_0"},
    {"awq", K_STR, F(awq), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "gguf q4_0/q8_0: activation-aware scales searched on the text of FILE, as\n"
     "bin/infer --awq (default: none, plain rounding)"},
    {"awq-tokens", K_INT, F(awq_tokens), 2, INT_MAX, 0, NULL, "8192", 0, 0, "N",
     "calibration tokens read from the --awq text"},
};
#define N_ROWS (int)(sizeof rows / sizeof rows[0])
static const FlagTable table = {
    rows, N_ROWS,
    "usage: bin/export MODEL OUT --format hf|gguf|peft [options]\n"
    "  MODEL                  our checkpoint, a Hugging Face folder, a llama2.c .bin, a GGUF file, or a\n"
    "                         LoRA checkpoint (bin/train --lora; hf and gguf merge its adapters)\n"
    "  OUT                    hf, peft: the folder to write (created when missing); gguf: the file\n",
    NULL, NULL, NULL, NULL,
};

static int is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

// Copies src to dst atomically; dies on failure.
static void copy_file(const char *src, const char *dst) {
    char err[512];
    size_t n;
    char *buf = read_file_all(src, &n, err, sizeof err);
    if (!buf) die("%s", err);
    if (atomic_write_file(dst, buf, n, err, sizeof err) != 0) die("%s", err);
    free(buf);
}

// The tokenizer beside the weights. Returns how many files were written.
static int export_tokenizer(const LoadedModel *lm, const char *model, const char *out) {
    char src[LORA_PATH_MAX + 64], dst[4096];
    int n = 0;
    if (lm->format == FORMAT_HF) {
        // what transformers' AutoTokenizer reads, and the rank file of Meta's Llama 3 folders
        const char *files[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                               "generation_config.json", "tokenizer.model", "tokenizer.model.pattern"};
        for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
            snprintf(src, sizeof src, "%s/%s", model, files[k]);
            if (!is_file(src)) continue;
            snprintf(dst, sizeof dst, "%s/%s", out, files[k]);
            copy_file(src, dst);
            n++;
        }
        snprintf(dst, sizeof dst, "%s/tokenizer.model", out);
        // Meta's folders keep the rank file under original/
        size_t tl = strlen(lm->tokenizer_path);
        if (!is_file(dst) && tl >= 16 && !strcmp(lm->tokenizer_path + tl - 16, "/tokenizer.model")) {
            copy_file(lm->tokenizer_path, dst);
            n++;
        }
        return n;
    }
    if (!lm->tokenizer_path[0]) return 0;
    if (!is_file(lm->tokenizer_path)) { // a checkpoint records where its tokenizer was
        fprintf(stderr, "export: the model's tokenizer %s is not there; none written\n", lm->tokenizer_path);
        return 0;
    }
    Tokenizer t;
    char err[512];
    if (tokenizer_open(&t, lm->tokenizer_path, lm->tokenizer_pattern, err, sizeof err) != 0) die("%s", err);
    int kind = t.kind;
    tokenizer_close(&t);
    snprintf(dst, sizeof dst, "%s/%s", out, kind == TOKENIZER_TIKTOKEN ? "tokenizer.model" :
             kind == TOKENIZER_HF ? "tokenizer.json" : "tokenizer.bin");
    copy_file(lm->tokenizer_path, dst);
    if (kind != TOKENIZER_TIKTOKEN || !lm->tokenizer_pattern[0]) return 1;
    // the split pattern a checkpoint recorded, where bin/infer looks for it beside a rank file
    snprintf(dst, sizeof dst, "%s/tokenizer.model.pattern", out);
    char line[32];
    int len = snprintf(line, sizeof line, "%s\n", lm->tokenizer_pattern);
    if (atomic_write_file(dst, line, len, err, sizeof err) != 0) die("%s", err);
    return 2;
}

// The model's context length: HF's max_position_embeddings and GGUF's context_length (bin/infer
// loads them capped), else the RoPE table length it loaded with.
static int context_length(const LoadedModel *lm) {
    return lm->format == FORMAT_HF ? lm->hf.max_position_embeddings
         : lm->format == FORMAT_GGUF ? lm->gguf.context_length : lm->m->config.max_seq_len;
}

static int export_gguf(const char *model, const char *out, DType type, const char *awq, int awq_tokens) {
    char err[1024];
    LoadedModel lm;
    if (load_model(&lm, model, 0, err, sizeof err) != 0) die("%s", err);
    if (lm.lora && lora_merge(lm.m, lm.lora, err, sizeof err) != 0) die("%s", err);
    Tokenizer t;
    int have_tok = 0;
    if (lm.tokenizer_path[0] && is_file(lm.tokenizer_path)) {
        if (tokenizer_open(&t, lm.tokenizer_path, lm.tokenizer_pattern, err, sizeof err) != 0) die("%s", err);
        have_tok = 1;
    } else if (awq) die("no tokenizer found for %s: --awq needs one", model);
    else fprintf(stderr, "export: no tokenizer found for %s; the GGUF has no tokenizer metadata\n", model);
    if (awq ? load_quantize_awq(&lm, type, DTYPE_Q8_0, &t, awq, awq_tokens, stderr, err, sizeof err)
            : dtype_is_quant(type) ? load_quantize(&lm, type, DTYPE_Q8_0, err, sizeof err) : 0)
        die("%s", err);
    if (have_tok && t.kind == TOKENIZER_HF)
        fprintf(stderr, "export: %s's tokenizer is a tokenizer.json, which is not written to GGUF metadata; "
                "the GGUF has no tokenizer\n", model);
    if (lm.lora) model = lm.base_path;   // the name in the file's metadata: the base's
    const char *base = strrchr(model, '/');
    GgufWriteInfo info = {lm.bos_id, lm.eos_ids, lm.n_eos, context_length(&lm), base && base[1] ? base + 1 : model,
                          have_tok && t.kind == TOKENIZER_TIKTOKEN ? t.tt : NULL,
                          have_tok && t.kind == TOKENIZER_SP ? &t.sp : NULL, NULL};
    // a GGUF source's Llama 3 scaling lives only in its rope_freqs.weight (the Model holds the
    // RoPE tables it made from it): carry the tensor over
    const GgufTensor *rf = lm.format == FORMAT_GGUF ? gguf_tensor(&lm.gguf.f, "rope_freqs.weight") : NULL;
    info.rope_divisors = rf ? rf->data : NULL;
    if (gguf_write(lm.m, &info, out, type, err, sizeof err) != 0) die("%s", err);
    const Config *c = &lm.m->config;
    fprintf(stderr, "export: %s -> %s: gguf %s, %d layers, dim %d, vocab %d, tokenizer %s\n", model, out, dtype_name(type),
            c->n_layers, c->dim, c->vocab_size, info.tt ? "gpt2" : info.sp ? "llama" : "none");
    if (have_tok) tokenizer_close(&t);
    unload_model(&lm);
    return 0;
}

static void make_dir(const char *out) {
    if (mkdir(out, 0777) != 0 && errno != EEXIST) die("%s: %s", out, strerror(errno));
    struct stat sb;
    if (stat(out, &sb) != 0 || !S_ISDIR(sb.st_mode)) die("%s: not a directory", out);
}

// The adapters alone, in peft's layout; the base is named, not read.
static int export_peft(const char *model, const char *out) {
    char err[LORA_PATH_MAX + 512];
    if (!lora_checkpoint_is(model)) die("%s: --format peft needs a LoRA checkpoint (bin/train --lora writes them)", model);
    LoraInfo info;
    Lora *l = lora_checkpoint_load(model, &info, err, sizeof err);
    if (!l) die("%s", err);
    make_dir(out);
    if (peft_write(l, info.base_path, out, err, sizeof err) != 0) die("%s", err);
    char tl[64];
    lora_targets_string(l->targets, tl, sizeof tl);
    fprintf(stderr, "export: %s -> %s: peft LoRA rank %d, alpha %g, on %s of %d layers (%zu parameters), base %s\n", model,
            out, l->rank, l->alpha, tl, l->n_layers, l->num_parameters, info.base_path);
    lora_free(l);
    return 0;
}

int main(int argc, char **argv) {
    ExportOptions o = {0};
    unsigned char given[N_ROWS];
    int optind = flags_parse(&table, argc, argv, &o, given);
    if (argc - optind != 2) die("expected MODEL and OUT (see --help), got %d arguments", argc - optind);
    const char *model = argv[optind], *out = argv[optind + 1];
    if (!given[flags_find(&table, "format")]) die("--format is required (hf, gguf or peft)");
    int gguf = o.format == 1;
    if (o.format == 2) {
        if (given[flags_find(&table, "dtype")] || given[flags_find(&table, "quant")])
            die("--format peft writes the adapters as they are (f32): no --dtype or --quant");
        return export_peft(model, out);
    }
    if (gguf && given[flags_find(&table, "dtype")]) die("--dtype is for --format hf (gguf takes --quant)");
    if (!gguf && given[flags_find(&table, "quant")]) die("--quant is for --format gguf (hf takes --dtype)");
    if (!gguf && o.awq) die("--awq is for --format gguf with --quant q4_0 or q8_0");
    char err[1024];
    LoadedModel lm;
    if (gguf) {
        const DType types[] = {DTYPE_BF16, DTYPE_F16, DTYPE_F32, DTYPE_Q8_0, DTYPE_Q4_0};   // --quant's order
        if (o.awq && !dtype_is_quant(types[o.quant])) die("--awq needs --quant q4_0 or q8_0");
        return export_gguf(model, out, types[o.quant], o.awq, o.awq_tokens);
    }
    const char *dtype_s = o.dtype;
    int dtype = hf_write_dtype(dtype_s);
    if (load_model(&lm, model, 0, err, sizeof err) != 0) die("%s", err);
    if (lm.lora && lora_merge(lm.m, lm.lora, err, sizeof err) != 0) die("%s", err);
    if (lm.format == FORMAT_GGUF && gguf_tensor(&lm.gguf.f, "rope_freqs.weight"))
        die("%s: its RoPE scaling is a rope_freqs.weight table, which a Hugging Face config cannot hold "
            "(export it with --format gguf)", model);
    make_dir(out);

    HfWriteInfo info = {lm.bos_id, lm.eos_ids, lm.n_eos, context_length(&lm)};
    if (hf_write(lm.m, &info, out, (DType)dtype, err, sizeof err) != 0) die("%s", err);
    int ntok = export_tokenizer(&lm, lm.lora ? lm.base_path : model, out);   // a LoRA checkpoint's: its base's
    const Config *c = &lm.m->config;
    fprintf(stderr, "export: %s -> %s: hf %s, %d layers, dim %d, vocab %d, %d tokenizer file%s\n", model, out,
            dtype_s, c->n_layers, c->dim, c->vocab_size, ntok, ntok == 1 ? "" : "s");
    unload_model(&lm);
    return 0;
}
