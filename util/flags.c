// util/flags.c — see flags.h.
#include "util/flags.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/errors.h"

int flags_find(const FlagTable *t, const char *name) {
    for (int i = 0; i < t->n_rows; i++)
        if (t->rows[i].kind != K_GROUP && !strcmp(t->rows[i].name, name)) return i;
    return -1;
}

int flags_choice_index(const char *choices, const char *s) {
    size_t n = strlen(s);
    int i = 0;
    for (const char *c = choices; *c; i++) {
        const char *end = strchr(c, ',');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        if (len == n && !strncmp(c, s, n)) return i;
        if (!end) break;
        c = end + 1;
    }
    return -1;
}

static int in_range(const FlagRow *r, double v) {
    return r->open_lo ? v > r->lo && v <= r->hi : v >= r->lo && v <= r->hi;
}

void flags_set(const FlagRow *r, void *settings, const char *s) {
    char *dst = (char *)settings + r->off;
    switch (r->kind) {
    case K_PATH:
        if (strlen(s) >= r->size) die("--%s: path too long", r->name);
        strcpy(dst, s);
        break;
    case K_STR: *(const char **)dst = s; break;
    case K_CHOICE:
        if (flags_choice_index(r->choices, s) < 0 || strlen(s) >= r->size)
            die("--%s: expected one of %s, got \"%s\"", r->name, r->choices, s);
        strcpy(dst, s);
        break;
    case K_ENUM: {
        int i = flags_choice_index(r->choices, s);
        if (i < 0) die("--%s: expected one of %s, got \"%s\"", r->name, r->choices, s);
        *(int *)dst = i;
        break;
    }
    case K_INT: *(int *)dst = (int)flag_long(r->name, s, (long)r->lo, (long)r->hi); break;
    case K_LONG: *(long *)dst = flag_long(r->name, s, (long)r->lo, (long)r->hi); break;
    case K_U64: *(uint64_t *)dst = (uint64_t)flag_long(r->name, s, (long)r->lo, 0x7fffffffffffffffL); break;
    case K_F32: case K_F64: {
        double v = r->open_lo ? flag_double_above(r->name, s, r->lo, r->hi) : flag_double(r->name, s, r->lo, r->hi);
        if (r->kind == K_F32) *(float *)dst = (float)v; else *(double *)dst = v;
        break;
    }
    case K_SWITCH: *(int *)dst = 1; break;
    case K_GROUP: case K_EACH: break;
    }
}

void flags_defaults(const FlagTable *t, void *settings) {
    for (int i = 0; i < t->n_rows; i++)
        if (t->rows[i].def && t->rows[i].kind != K_EACH) flags_set(&t->rows[i], settings, t->rows[i].def);
}

// The row's one-letter alias in t->aliases ("n=max-new x=..."), or 0.
static char alias_of(const FlagTable *t, const char *name) {
    size_t n = strlen(name);
    for (const char *a = t->aliases; a && *a; a += strcspn(a, " "), a += *a == ' ')
        if (a[1] == '=' && !strncmp(a + 2, name, n) && (a[2 + n] == ' ' || !a[2 + n])) return a[0];
    return 0;
}

int flags_parse(const FlagTable *t, int argc, char **argv, void *settings, unsigned char *given) {
    memset(given, 0, (size_t)t->n_rows);
    flags_defaults(t, settings);
    // long options, and the short ones ("h" and each alias, with ':' when it takes a value)
    struct option *lo = calloc((size_t)t->n_rows + 2, sizeof *lo);
    char shorts[2 * 64 + 4] = ":h";
    if (!lo) die("out of memory");
    int n = 0;
    for (int i = 0; i < t->n_rows; i++) {
        const FlagRow *r = &t->rows[i];
        if (r->kind == K_GROUP || !r->help) continue;   // rows without help are not flags
        int has_arg = r->kind == K_SWITCH ? no_argument : required_argument;
        lo[n++] = (struct option){r->name, has_arg, 0, 256 + i};
        char a = alias_of(t, r->name);
        size_t k = strlen(shorts);
        if (a && k + 3 < sizeof shorts) {
            shorts[k++] = a;
            if (has_arg) shorts[k++] = ':';
            shorts[k] = '\0';
        }
    }
    lo[n++] = (struct option){"help", no_argument, 0, 'h'};
    lo[n] = (struct option){0, 0, 0, 0};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        if (c == 'h') { flags_usage(t, stdout); flush_stdout_or_die(); exit(0); }
        if (c == ':') die("%s needs a value (see --help)", argv[optind - 1]);
        int i = c >= 256 ? c - 256 : -1;
        for (int k = 0; c < 256 && c != '?' && k < t->n_rows; k++)   // a one-letter alias
            if (t->rows[k].kind != K_GROUP && alias_of(t, t->rows[k].name) == c) i = k;
        if (i < 0 || i >= t->n_rows) die("unknown option %s (see --help)", argv[optind - 1]);
        given[i] = 1;
        if (t->rows[i].kind == K_EACH) t->each(&t->rows[i], optarg, settings);
        else flags_set(&t->rows[i], settings, optarg ? optarg : "");
    }
    free(lo);
    return optind;
}

void flags_usage(const FlagTable *t, FILE *f) {
    fputs(t->usage, f);
    for (int i = 0; i < t->n_rows; i++) {
        const FlagRow *r = &t->rows[i];
        if (r->kind == K_GROUP) { fprintf(f, "\n%s\n", r->name); continue; }
        if (!r->help) continue;
        char fl[64], def[192] = "", other[160] = "";
        char a = alias_of(t, r->name);
        int at = a ? snprintf(fl, sizeof fl, "-%c, ", a) : 0;
        snprintf(fl + at, sizeof fl - at, "--%s%s%s", r->name, r->meta ? " " : "", r->meta ? r->meta : "");
        if (t->default_text) t->default_text(r, other, sizeof other);
        if (strstr(r->help, "(default") || strstr(r->help, "(required)")) def[0] = '\0';   // the help says it
        else if (other[0]) snprintf(def, sizeof def, " (%s)", other);
        else if (r->kind == K_SWITCH) snprintf(def, sizeof def, " (default off)");
        else if (r->def) snprintf(def, sizeof def, " (default %s)", r->def);
        else if (r->kind == K_PATH || r->kind == K_STR || r->kind == K_CHOICE) snprintf(def, sizeof def, " (default none)");
        // the help text, its continuation lines indented under it
        if (strlen(fl) > 22) fprintf(f, "  %s\n  %-22s ", fl, "");   // a long flag: its help on the next line
        else fprintf(f, "  %-22s ", fl);
        for (const char *h = r->help; *h; h++) {
            fputc(*h, f);
            if (*h == '\n') fprintf(f, "  %-22s ", "");
        }
        fprintf(f, "%s%s\n", def, r->resume ? " [resume]" : "");
    }
    fprintf(f, "  %-22s this text\n", "-h, --help");
    if (t->usage_end) t->usage_end(f);
}

int flags_check(const FlagTable *t, const void *settings) {
    for (int i = 0; i < t->n_rows; i++) {
        const FlagRow *r = &t->rows[i];
        const char *p = (const char *)settings + r->off;
        int ok = 1;
        switch (r->kind) {
        case K_INT: ok = in_range(r, *(const int *)p); break;
        case K_LONG: ok = in_range(r, (double)*(const long *)p); break;
        case K_F32: ok = in_range(r, *(const float *)p); break;
        case K_F64: ok = in_range(r, *(const double *)p); break;
        case K_ENUM: {
            int n = 1;
            for (const char *c = r->choices; *c; c++) n += *c == ',';
            ok = *(const int *)p >= 0 && *(const int *)p < n;
            break;
        }
        case K_CHOICE: ok = !p[0] || flags_choice_index(r->choices, p) >= 0; break;
        case K_PATH: ok = memchr(p, 0, r->size) != NULL; break;
        default: break;
        }
        if (!ok) return i;
    }
    return -1;
}
