// infer/infer.c — bin/infer: run a Llama (Hugging Face folder, llama2.c .bin, or our checkpoint)
// on a prompt, or chat with it, sampling with a KV cache. docs/inference.md explains the parts.
//
//   bin/infer MODEL [--prompt TEXT | --prompt-ids "i j k" | --chat] [-n N] [--temperature T]
//             [--top-k K] [--top-p P] [--min-p P] [--seed S] [--ctx N] [--threads N]
//             [--tokenizer FILE] [--system TEXT] [--print-ids] [--dump-logits FILE]
//             [--sampler plain|entropix] [--entropix NAME=VALUE] [--trace FILE]
//             [--attention-png FILE] [--attention dense|kascade --kascade-schedule FILE]
//
// Text goes to stdout as it is generated; progress, errors and the stats line go to stderr.
#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>
#include "util/atomic_file.h"
#include "util/cpu_load.h"
#include "util/errors.h"
#include "util/flags.h"
#include "util/sha256.h"
#include "infer/attention_png.h"
#include "infer/entropix.h"
#include "infer/chat.h"
#include "infer/generate.h"
#include "util/blas_core.h"
#include "util/blas_room.h"
#include "infer/load.h"
#include "infer/perplexity.h"
#include "model/kascade.h"
#include "model/quant.h"
#include "infer/sampler.h"
#include "infer/tokenizer.h"
#include "util/timing.h"


// ---- the command line: one row per flag (util/flags.h) ----

typedef struct {
    const char *prompt, *prompt_ids, *system, *tokenizer, *dump_logits, *perplexity, *trace, *attention_png,
               *kascade_schedule, *awq;
    int chat, max_new, top_k, ctx, threads, print_ids, awq_tokens;
    float temperature, top_p, min_p;
    uint64_t seed;
    int sampler;        // 0 plain, 1 entropix
    int quant;          // none, q8_0, q4_0 (main maps these to DTypes)
    int quant_head;     // q8_0, q4_0, keep
    int attention;      // 0 dense, 1 kascade
    EntropixConfig excfg;
} InferOptions;

#define F(field) FLAG_FIELD(InferOptions, field)
#define STR_(x) #x
#define STR(x) STR_(x)

static const FlagRow rows[] = {
    {"prompt", K_STR, F(prompt), 0, 0, 0, NULL, NULL, 0, 0, "TEXT", "text to continue (BOS is prepended when the model has one)"},
    {"prompt-ids", K_STR, F(prompt_ids), 0, 0, 0, NULL, NULL, 0, 0, "\"i j k\"",
     "token ids, used verbatim as the whole prompt (no BOS added)"},
    {"chat", K_SWITCH, F(chat), 0, 0, 0, NULL, NULL, 0, 0, NULL,
     "interactive chat on stdin (Llama 3 or Llama 2 [INST] format, from the tokenizer),\n"
     "keeping the KV cache across turns"},
    {"system", K_STR, F(system), 0, 0, 0, NULL, NULL, 0, 0, "TEXT", "system message for --chat"},
    {"max-new", K_INT, F(max_new), 0, INT_MAX, 0, NULL, "256", 0, 0, "N", "tokens to generate (per chat turn)"},
    {"temperature", K_F32, F(temperature), 0, 100, 0, NULL, "1.0", 0, 0, "T", "0 = greedy"},
    {"top-k", K_INT, F(top_k), 0, INT_MAX, 0, NULL, "0", 0, 0, "K", "keep the K most likely tokens, 0 = off"},
    {"top-p", K_F32, F(top_p), 0, 1, 1, NULL, "0.9", 0, 0, "P", "nucleus sampling, 1 = off"},
    {"min-p", K_F32, F(min_p), 0, 1, 0, NULL, "0", 0, 0, "P", "drop tokens below P x the top probability, 0 = off"},
    {"seed", K_U64, F(seed), 0, 9.2e18, 0, NULL, NULL, 0, 0, "S", "sampling seed (default: from the clock)"},
    {"ctx", K_INT, F(ctx), 1, INT_MAX, 0, NULL, NULL, 0, 0, "N",
     "context length / KV cache positions (default: the model's, at most " STR(LOAD_DEFAULT_CTX) "\n"
     "for Hugging Face and llama2.c models)"},
    {"threads", K_INT, F(threads), 1, 1024, 0, NULL, NULL, 0, 0, "N",
     "OpenMP and OpenBLAS threads (default: the environment's, or 1 when the\n"
     "load average is above the core count)"},
    {"tokenizer", K_STR, F(tokenizer), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "tiktoken rank file, llama2.c tokenizer.bin or HF tokenizer.json (default: found\n"
     "next to the model, or recorded in our checkpoint)"},
    {"print-ids", K_SWITCH, F(print_ids), 0, 0, 0, NULL, NULL, 0, 0, NULL,
     "print generated ids (not the prompt), space separated, instead of text"},
    {"dump-logits", K_STR, F(dump_logits), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "write the float32 logits after the last prompt token (vocab_size floats)"},
    {"quant", K_ENUM, F(quant), 0, 0, 0, "none,q8_0,q4_0", "none", 0, 0, "TYPE",
     "quantize the weights at load to q8_0 or q4_0; none keeps them as stored"},
    {"quant-head", K_ENUM, F(quant_head), 0, 0, 0, "q8_0,q4_0,keep", "q8_0", 0, 0, "TYPE",
     "the output head's type with --quant: q8_0, q4_0, or keep"},
    {"awq", K_STR, F(awq), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "with --quant: round the weights with activation-aware scales searched on\n"
     "the text of FILE (docs/quantization.md) (default: none, plain rounding)"},
    {"awq-tokens", K_INT, F(awq_tokens), 2, INT_MAX, 0, NULL, "8192", 0, 0, "N",
     "calibration tokens read from the --awq text"},
    {"perplexity", K_STR, F(perplexity), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "print the perplexity of FILE as llama.cpp's llama-perplexity computes it\n"
     "(chunks of --ctx tokens, default 512, second halves scored), then exit"},
    {"sampler", K_ENUM, F(sampler), 0, 0, 0, "plain,entropix", "plain", 0, 0, "NAME",
     "plain: temperature, top-k, top-p, min-p as above; entropix: xjdr's entropix\n"
     "decision table on entropy, varentropy and attention metrics, its base\n"
     "settings from --temperature, --top-k, --top-p, --min-p when given"},
    {"entropix", K_EACH, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, "NAME=VALUE",
     "set one entropix setting (repeatable); the names and their defaults are\n"
     "listed below"},
    {"trace", K_STR, F(trace), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "a CSV row per generated token: entropy, varentropy, attention metrics,\n"
     "quadrant, the settings used, the token (any sampler)"},
    {"attention-png", K_STR, F(attention_png), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "write the prompt's attention probabilities as a PNG, one tile per (layer,\n"
     "head): rows layers, columns heads"},
    {"attention", K_ENUM, F(attention), 0, 0, 0, "dense,kascade", "dense", 0, 0, "NAME",
     "dense, or kascade: sparse attention by the schedule of --kascade-schedule;\n"
     "prints the share of tiles reuse layers skipped"},
    {"kascade-schedule", K_STR, F(kascade_schedule), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "the Kascade schedule (JSON, bin/kascade-calibrate)"},
};
#define N_ROWS (int)(sizeof rows / sizeof rows[0])

static void set_entropix(const FlagRow *r, const char *value, void *settings) {
    char why[256];
    if (entropix_config_set(&((InferOptions *)settings)->excfg, value, why, sizeof why) != 0) die("%s", why);
}

static void usage_entropix(FILE *f) {
    fprintf(f, "\nentropix settings (--entropix NAME=VALUE) and their defaults:\n");
    entropix_config_print(f, "  ");
}

static const FlagTable table = {
    rows, N_ROWS,
    "usage: bin/infer MODEL [options]\n"
    "  MODEL                  a Hugging Face Llama folder, a llama2.c .bin, or a bin/train checkpoint\n",
    "n=max-new", set_entropix, NULL, usage_entropix,
};

// ---- output ----

typedef struct {
    Tokenizer *tok; // NULL: no tokenizer, ids only
    int print_ids;
    int prev;       // the token before (SentencePiece drops a space after BOS)
    int count;
    Utf8Out out;
} Printer;

static int print_token(void *user, int token) {
    Printer *p = user;
    if (p->print_ids || !p->tok) {
        printf(p->count ? " %d" : "%d", token);
    } else {
        size_t len;
        const char *b = tokenizer_token_bytes(p->tok, p->prev, token, &len);
        if (b) utf8out_write(&p->out, b, len);
    }
    flush_stdout_or_die();
    p->prev = token;
    p->count++;
    return 0;
}

static size_t peak_rss_bytes(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (size_t)ru.ru_maxrss * 1024; // Linux reports KiB
}

static void print_stats(double load_s, int n_prompt, double prefill_s, int n_gen, int n_decode, double decode_s,
                        const LoadedModel *lm) {
    size_t kv, scratch;
    model_kv_sizes(lm->m, lm->ctx, &kv, &scratch);
    blas_core_note(stderr, "infer: ");   // OpenBLAS fell back to old kernels on this CPU: say which setting is faster
    const char *dt = dtype_name(lm->m->w.layers[0].wq.dtype);
    fprintf(stderr, "infer: load %.2f s | prompt %d tok %.1f tok/s | decode %d tok %.1f tok/s %.2f ms/token | "
            "%d threads | peak RSS %.1f MB (weights %.1f MB %s%s + KV cache %.1f MB + scratch %.1f MB)\n",
            load_s, n_prompt, prefill_s > 0 ? n_prompt / prefill_s : 0.0, n_gen,
            decode_s > 0 ? n_decode / decode_s : 0.0, n_decode ? 1e3 * decode_s / n_decode : 0.0,
            omp_get_max_threads(), peak_rss_bytes() / 1e6, lm->weight_bytes / 1e6, dt,
            lm->format == FORMAT_HF && !lm->m->quant_memory ? " mmapped" : "", kv / 1e6, scratch / 1e6);
}

// Parses "1 2 3" (spaces, tabs, commas) into ids; each must be in [0, V).
static int *parse_ids(const char *s, int V, int *n) {
    int *ids = malloc((strlen(s) / 2 + 2) * sizeof(int));
    if (!ids) die("--prompt-ids: out of memory");
    *n = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno) die("--prompt-ids: \"%.20s\" is not a token id", p);
        if (v < 0 || v >= V) die("--prompt-ids: token id %ld is outside the vocabulary [0, %d)", v, V);
        ids[(*n)++] = (int)v;
        p = end;
    }
    if (*n == 0) die("--prompt-ids: no ids given");
    return ids;
}

// *ids (malloc'd, *cap ints) grown to hold at least need ints
static void grow_ids(int **ids, int *cap, int need) {
    int *p = realloc(*ids, 2 * (size_t)need * sizeof(int));
    if (!p) die("out of memory for the prompt's %d tokens", need);
    *ids = p;
    *cap = 2 * need;
}

// ids[*n ..] += what text encodes to
static void append_text(Tokenizer *tok, const char *text, int **ids, int *n, int *cap) {
    char err[512];
    int k;
    int *t = tokenizer_encode(tok, text, &k, err, sizeof err);
    if (!t) die("%s", err);
    if (*n + k + 1 > *cap) grow_ids(ids, cap, *n + k + 1);
    memcpy(*ids + *n, t, k * sizeof(int));
    *n += k;
    free(t);
}

static void append_id(int id, int **ids, int *n, int *cap) {
    if (*n + 1 > *cap) grow_ids(ids, cap, *n + 1);
    (*ids)[(*n)++] = id;
}

int main(int argc, char **argv) {
    InferOptions o = {0};
    unsigned char given[N_ROWS];
    entropix_config_default(&o.excfg);
    int optind = flags_parse(&table, argc, argv, &o, given);
    if (optind != argc - 1) die(optind >= argc ? "no MODEL given (see --help)" : "one MODEL only, got \"%s\" too",
                                argv[optind + 1 < argc ? optind + 1 : optind]);
    const char *model_path = argv[optind];
    if ((o.prompt != NULL) + (o.prompt_ids != NULL) + o.chat > 1) die("give one of --prompt, --prompt-ids, --chat");
    if (o.system && !o.chat) die("--system needs --chat");
    if (o.perplexity && (o.prompt || o.prompt_ids || o.chat || o.dump_logits)) die("--perplexity runs alone: no --prompt, --prompt-ids, --chat or --dump-logits");
    if (o.awq && !o.quant) die("--awq needs --quant q4_0 or q8_0");
    if (o.attention_png && !o.prompt && !o.prompt_ids) die("--attention-png needs --prompt or --prompt-ids");
    if (o.attention != (o.kascade_schedule != NULL))
        die(o.attention ? "--attention kascade needs --kascade-schedule FILE" : "--kascade-schedule needs --attention kascade");
    if (o.attention && o.attention_png) die("--attention-png draws dense attention: not with --attention kascade");
    if (o.prompt && !utf8_valid(o.prompt, strlen(o.prompt))) die("--prompt is not valid UTF-8");
    if (o.system && !utf8_valid(o.system, strlen(o.system))) die("--system is not valid UTF-8");
    if (!given[flags_find(&table, "seed")]) o.seed = (unsigned long long)time(NULL);
    o.threads = cpu_load_threads("infer", o.threads);   // 1 on a busy machine unless --threads
    if (o.threads) {
        blas_room_check(o.threads);
        omp_set_num_threads(o.threads);
        openblas_set_num_threads(o.threads);
    }

    // ---- model ----
    char err[1024];
    double t0 = now_s();
    LoadedModel lm;
    if (load_model(&lm, model_path, o.ctx, err, sizeof err) != 0) die("%s", err);
    Model *m = lm.m;
    const int V = m->config.vocab_size;

    // ---- tokenizer: --tokenizer, else the one found with the model ----
    Tokenizer tok_storage, *tok = NULL;
    const char *tpath = o.tokenizer ? o.tokenizer : (lm.tokenizer_path[0] ? lm.tokenizer_path : NULL);
    if (tpath) {
        if (!o.tokenizer && lm.format == FORMAT_CHECKPOINT && access(tpath, R_OK) != 0) {
            if (!o.prompt_ids) die("the checkpoint's tokenizer %s is missing: pass --tokenizer FILE", tpath);
        } else {
            // our checkpoint names the very file it was trained with: refuse one that changed
            char hex[65];
            if (!o.tokenizer && lm.format == FORMAT_CHECKPOINT && lm.tokenizer_sha256[0] &&
                (sha256_file_hex(tpath, hex) != 0 || strcmp(hex, lm.tokenizer_sha256) != 0))
                die("%s is not the tokenizer the checkpoint was trained with (sha256 differs); pass --tokenizer FILE "
                    "to use it anyway", tpath);
            if (tokenizer_open(&tok_storage, tpath, lm.tokenizer_pattern, err, sizeof err) != 0) die("%s", err);
            tok = &tok_storage;
            if (tok->kind == TOKENIZER_SP ? tok->vocab_size != V : tok->vocab_size > V)
                die("%s: tokenizer has %d tokens but the model's vocab_size is %d", tpath, tok->vocab_size, V);
        }
    }
    if (!tok && (o.prompt || o.chat)) die("no tokenizer found for %s: pass --tokenizer FILE, or use --prompt-ids", model_path);
    if (tok) load_resolve_tokens(&lm, tok);  // BOS / EOS named in tokenizer_config.json
    static const int quant_type[] = {-1, DTYPE_Q8_0, DTYPE_Q4_0}, head_type[] = {DTYPE_Q8_0, DTYPE_Q4_0, -1};
    if (o.awq && !tok) die("no tokenizer found for %s: --awq needs one (pass --tokenizer FILE)", model_path);
    if (o.awq ? load_quantize_awq(&lm, quant_type[o.quant], head_type[o.quant_head], tok, o.awq, o.awq_tokens, stderr,
                                  err, sizeof err)
              : o.quant ? load_quantize(&lm, quant_type[o.quant], head_type[o.quant_head], err, sizeof err) : 0)
        die("%s", err);
    if (model_pack(m, err, sizeof err) != 0) die("%s", err);   // Q8_0/Q4_0 rows interleaved for the kernels
    double load_s = now_s() - t0;

    // BOS: config.json's bos_token_id for HF (Llama 3: <|begin_of_text|>, as transformers'
    // tokenizer adds it), else tokenizer_config.json's bos_token, not when its add_bos_token is
    // false; 1 for llama2.c; none for our models (bin/train trains on one running
    // token stream without BOS, and its samples start from "\n", as ours do without a prompt).
    int bos = lm.bos_id;
    if (lm.format == FORMAT_CHECKPOINT && !o.prompt && !o.prompt_ids && !o.chat && tok) o.prompt = "\n";

    // stop ids: the model's EOS ids, and the tokenizer's end-of-turn / end-of-text specials
    int stop[LOAD_MAX_EOS + 3], n_stop = 0;
    for (int k = 0; k < lm.n_eos; k++) stop[n_stop++] = lm.eos_ids[k];
    const char *stop_names[] = {"<|eot_id|>", "<|end_of_text|>", "<|endoftext|>"};
    for (int k = 0; k < 3 && tok; k++) {
        int id = tokenizer_special(tok, stop_names[k]);
        if (id >= 0 && id < V) stop[n_stop++] = id;
    }

    size_t kv_bytes, scratch_bytes;
    model_kv_sizes(m, lm.ctx, &kv_bytes, &scratch_bytes);
    int kv_rc = model_kv_alloc(m, lm.ctx);
    if (kv_rc == -1) die("cannot allocate the KV cache (%.1f MB) for --ctx %d", kv_bytes / 1e6, lm.ctx);
    if (kv_rc) die("cannot allocate the attention scratch (%.1f MB) for --ctx %d", scratch_bytes / 1e6, lm.ctx);
    Kascade *ks = NULL;
    if (o.kascade_schedule) {
        if (!(ks = kascade_load(o.kascade_schedule, m->config.n_layers, m->config.n_heads, err, sizeof err)) ||
            kascade_prepare(ks, m->kv_max_len, m->kv_chunk, m->config.head_dim, err, sizeof err) != 0)
            die("%s", err);
        m->kascade = ks;
    }
    if (o.perplexity) {
        if (!tok) die("no tokenizer found for %s: pass --tokenizer FILE", model_path);
        PerplexityResult r;
        if (perplexity_file(m, tok, bos, o.perplexity, o.ctx ? o.ctx : (lm.ctx < 512 ? lm.ctx : 512), stderr, &r, err, sizeof err) != 0)
            die("%s", err);
        printf("perplexity %.4f over %ld tokens\n", r.ppl, r.count);
        if (ks) printf("sparsity %.1f%% (tiles skipped in reuse layers)\n", kascade_sparsity(ks));
        kascade_free(ks);
        tokenizer_close(tok);
        unload_model(&lm);
        return 0;
    }
    Sampler sampler;
    sampler_init(&sampler, V, o.temperature, o.top_k, o.top_p, o.min_p, o.seed);
    if (!sampler.candidates) die("out of memory for the sampler (%d tokens)", V);
    // entropix and --trace: per-token metrics from inside the decode (infer/entropix.h)
    Entropix ex;
    if (o.sampler || o.trace) {
        if (given[flags_find(&table, "temperature")]) o.excfg.temp = o.temperature;
        if (given[flags_find(&table, "top-k")]) o.excfg.top_k = o.top_k;
        if (given[flags_find(&table, "top-p")]) o.excfg.top_p = o.top_p;
        if (given[flags_find(&table, "min-p")]) o.excfg.min_p = o.min_p;
        if (entropix_init(&ex, m, &o.excfg, o.sampler, tok, o.trace, err, sizeof err) != 0) die("%s", err);
        sampler.entropix = &ex;
    }
    Printer pr = { tok, o.print_ids, bos, 0, {0} };
    utf8out_init(&pr.out, stdout);
    float *dump = o.dump_logits ? calloc((size_t)V, sizeof(float)) : NULL;
    if (o.dump_logits && !dump) die("--dump-logits: out of memory");
    AtomicFile dump_file;   // opened now: fail before any work
    if (o.dump_logits && atomic_open(&dump_file, o.dump_logits, err, sizeof err)) die("%s", err);
    int pos = 0;

    if (!o.chat) {
        // ---- one prompt ----
        int n = 0, cap = 16, *ids = malloc(cap * sizeof(int));
        if (!ids) die("out of memory");
        if (o.prompt_ids) {
            free(ids);
            ids = parse_ids(o.prompt_ids, V, &n);
        } else {
            if (bos >= 0 && lm.add_bos) append_id(bos, &ids, &n, &cap);
            if (o.prompt) append_text(tok, o.prompt, &ids, &n, &cap);
            if (n == 0) die("no prompt (and the model has no BOS token): give --prompt or --prompt-ids");
        }
        if (n > lm.ctx) die("the prompt has %d tokens but the context holds %d (--ctx)", n, lm.ctx);
        if (o.attention_png && attention_png_write(m, ids, n, o.attention_png, err, sizeof err) != 0) die("%s", err);
        if (o.prompt && !o.print_ids) { // echo the prompt, then continue it
            fputs(o.prompt, stdout);
            flush_stdout_or_die();
            pr.prev = ids[n - 1];
        }
        GenResult r;
        if (generate(m, &sampler, lm.ctx, ids, n, &pos, o.max_new, stop, n_stop, print_token, &pr, dump, &r, err,
                     sizeof err) != 0)
            die("%s", err);
        utf8out_flush(&pr.out);
        printf("\n");
        flush_stdout_or_die();
        if (r.stop == GEN_STOP_CONTEXT) fprintf(stderr, "infer: context full (%d tokens): stopped\n", lm.ctx);
        print_stats(load_s, r.n_prompt, r.prefill_s, r.n_generated, r.n_decode, r.decode_s, &lm);
        if (ks) fprintf(stderr, "infer: sparsity %.1f%% (tiles skipped in reuse layers)\n", kascade_sparsity(ks));
        free(ids);
    } else {
        // ---- chat (infer/chat.h): every turn continues the same KV cache ----
        Chat ch;
        if (chat_init(&ch, tok, lm.chat_template, bos, err, sizeof err) != 0) die("%s", err);
        if (ch.end_id >= V) die("--chat: the end-of-turn token %d is outside the vocabulary [0, %d)", ch.end_id, V);
        if (n_stop < LOAD_MAX_EOS + 3) stop[n_stop++] = ch.end_id;
        int n = 0, cap = 256, *ids = malloc(cap * sizeof(int));
        if (!ids) die("out of memory");
        char *line = NULL;
        size_t line_cap = 0;
        int pending = -1; // a sampled token not yet in the cache
        int turn_prompt = 0, turn_gen = 0, turn_decode = 0;
        double turn_prefill = 0, turn_decode_s = 0;
        for (;;) {
            fprintf(stderr, "> ");
            fflush(stderr);
            errno = 0;
            ssize_t got = getline(&line, &line_cap, stdin);
            if (got < 0 && errno == ENOMEM) die("--chat: out of memory reading a line");
            if (got < 0) break;
            if (!utf8_valid(line, got)) { fprintf(stderr, "infer: that line is not valid UTF-8; try again\n"); continue; }
            // the assistant's last turn ends with <|eot_id|> (Llama 3) or </s> (Llama 2), whether or
            // not the model said it
            if (pending >= 0 && pending != ch.end_id) append_id(pending, &ids, &n, &cap);
            if (pos > 0) append_id(ch.end_id, &ids, &n, &cap);
            if (chat_user_turn(&ch, pos == 0, o.system, line, &ids, &n, &cap, err, sizeof err) != 0) die("%s", err);
            if (pos + n > lm.ctx) { fprintf(stderr, "infer: context full (%d tokens): ending the chat\n", lm.ctx); break; }
            pr.prev = ids[n - 1];
            GenResult r;
            if (generate(m, &sampler, lm.ctx, ids, n, &pos, o.max_new, stop, n_stop, print_token, &pr,
                         turn_prompt ? NULL : dump, &r, err, sizeof err) != 0)
                die("%s", err);
            utf8out_flush(&pr.out);
            printf("\n");
            flush_stdout_or_die();
            pending = r.stop == GEN_STOP_EOS ? ch.end_id : r.last_token;
            turn_prompt += r.n_prompt; turn_gen += r.n_generated; turn_decode += r.n_decode;
            turn_prefill += r.prefill_s; turn_decode_s += r.decode_s;
            n = 0;
            if (r.stop == GEN_STOP_CONTEXT) { fprintf(stderr, "infer: context full (%d tokens): ending the chat\n", lm.ctx); break; }
        }
        free(line);
        free(ids);
        print_stats(load_s, turn_prompt, turn_prefill, turn_gen, turn_decode, turn_decode_s, &lm);
        if (ks) fprintf(stderr, "infer: sparsity %.1f%% (tiles skipped in reuse layers)\n", kascade_sparsity(ks));
    }

    if (dump) {
        if (atomic_write(&dump_file, dump, (size_t)V * sizeof(float), err, sizeof err) ||
            atomic_commit(&dump_file, err, sizeof err))
            die("%s", err);
        free(dump);
    }
    if (sampler.entropix && entropix_free(&ex, err, sizeof err) != 0) die("%s", err);
    sampler_free(&sampler);
    kascade_free(ks);
    if (tok) tokenizer_close(tok);
    unload_model(&lm);
    return 0;
}
