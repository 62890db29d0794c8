// infer/chat.c — see chat.h.
#include "infer/chat.h"
#include <stdlib.h>
#include <string.h>
#include "util/errors.h"

static int push(int id, int **ids, int *n, int *cap) {
    if (*n + 1 > *cap) {
        int c2 = 2 * (*n + 1);
        int *p = realloc(*ids, c2 * sizeof(int));
        if (!p) return -1;
        *ids = p;
        *cap = c2;
    }
    (*ids)[(*n)++] = id;
    return 0;
}

static int push_text(const Chat *c, const char *text, int **ids, int *n, int *cap, char *err, size_t errlen) {
    int k;
    int *t = tokenizer_encode(c->tok, text, &k, err, errlen);
    if (!t) return -1;
    for (int i = 0; i < k; i++)
        if (push(t[i], ids, n, cap) != 0) { free(t); return fail(err, errlen, "out of memory"); }
    free(t);
    return 0;
}

// s without leading and trailing whitespace (Python's str.strip / Jinja's trim), malloc'd
static char *trimmed(const char *s) {
    const char *ws = " \t\n\r\v\f";
    while (*s && strchr(ws, *s)) s++;
    size_t len = strlen(s);
    while (len && strchr(ws, s[len - 1])) len--;
    return strndup(s, len);
}

int chat_init(Chat *c, Tokenizer *tok, const char *template_kind, int bos, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    c->tok = tok;
    c->bos = bos;
    int sh = tokenizer_special(tok, "<|start_header_id|>"), eh = tokenizer_special(tok, "<|end_header_id|>"),
        eot = tokenizer_special(tok, "<|eot_id|>"), s = tokenizer_special(tok, "<s>"), es = tokenizer_special(tok, "</s>");
    int l3 = sh >= 0 && eh >= 0 && eot >= 0, l2 = s >= 0 && es >= 0;
    const char *k = template_kind ? template_kind : "";
    if ((strcmp(k, "llama3") == 0 || !*k) && l3) {
        c->format = CHAT_LLAMA3;
        c->start_header = sh;
        c->end_header = eh;
        c->end_id = eot;
        return 0;
    }
    if ((strcmp(k, "inst") == 0 || !*k) && l2) {
        c->format = CHAT_LLAMA2;
        c->bos = s;
        c->end_id = es;
        return 0;
    }
    return fail(err, errlen, "--chat speaks the Llama 3 and Llama 2 [INST] formats; this model's %s",
                *k ? "chat_template (tokenizer_config.json) is neither" : "tokenizer has the special tokens of neither");
}

int chat_user_turn(const Chat *c, int first, const char *system, const char *user, int **ids, int *n, int *cap,
                   char *err, size_t errlen) {
    int rc = 0;
    if (errlen) err[0] = 0;
    if (c->format == CHAT_LLAMA3) {
        const char *role[2] = {"system", "user"}, *content[2] = {first ? system : NULL, user};
        if (first && c->bos >= 0) rc |= push(c->bos, ids, n, cap);
        for (int r = 0; r < 2 && rc == 0; r++) {
            if (!content[r]) continue;
            char *t = trimmed(content[r]), *text = t ? malloc(strlen(t) + 3) : NULL;
            if (!text) { free(t); return fail(err, errlen, "out of memory"); }
            strcpy(text, "\n\n");
            strcat(text, t);
            rc |= push(c->start_header, ids, n, cap) || push_text(c, role[r], ids, n, cap, err, errlen) ||
                  push(c->end_header, ids, n, cap) || push_text(c, text, ids, n, cap, err, errlen) ||
                  push(c->end_id, ids, n, cap);
            free(t);
            free(text);
        }
        if (rc == 0)
            rc |= push(c->start_header, ids, n, cap) || push_text(c, "assistant", ids, n, cap, err, errlen) ||
                  push(c->end_header, ids, n, cap) || push_text(c, "\n\n", ids, n, cap, err, errlen);
    } else {
        // "[INST] " + strip(content) + " [/INST]", the system message inside the first content
        const char *sys = first ? system : NULL;
        size_t need = strlen(user) + (sys ? strlen(sys) + 32 : 0) + 1;
        char *content = malloc(need);
        if (!content) return fail(err, errlen, "out of memory");
        snprintf(content, need, "%s%s%s%s", sys ? "<<SYS>>\n" : "", sys ? sys : "", sys ? "\n<</SYS>>\n\n" : "", user);
        char *t = trimmed(content), *text = t ? malloc(strlen(t) + 20) : NULL;
        free(content);
        if (!text) { free(t); return fail(err, errlen, "out of memory"); }
        sprintf(text, "[INST] %s [/INST]", t);
        rc |= push(c->bos, ids, n, cap) || push_text(c, text, ids, n, cap, err, errlen);
        free(t);
        free(text);
    }
    if (rc && !err[0]) fail(err, errlen, "out of memory");
    return rc ? -1 : 0;
}
