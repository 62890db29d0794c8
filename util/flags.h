// util/flags.h — a program's command line as one table: a row per flag (name, type, the field of
// the program's settings struct it fills, allowed range, default, help), from which the
// getopt_long loop, --help, the defaults and the range checks all follow. bin/train's table is in
// train/options.c, bin/infer's in infer/infer.c. Adding a flag: a field in the struct, a row.
//
// A bad value ends the program (die): "--top-p: expected a number in (0, 1], got "2"".
#pragma once
#include <stddef.h>
#include <stdio.h>

typedef enum {
    K_GROUP,    // a --help section heading (name is the heading)
    K_PATH,     // char[size]: the value copied in
    K_STR,      // const char *: points at the value (argv's own string; NULL when not given)
    K_CHOICE,   // char[size]: one of `choices` ("" when unset)
    K_ENUM,     // int: the index of the value in `choices`
    K_INT, K_LONG, K_U64, K_F32, K_F64,
    K_SWITCH,   // no value: sets an int to 1
    K_EACH,     // no field: every value given goes to the table's `each` (a repeatable flag)
} FlagKind;

typedef struct {
    const char *name;       // the flag, without "--"
    FlagKind kind;
    size_t off, size;       // the field in the settings struct
    double lo, hi;          // numbers: the allowed range [lo, hi] ((lo, hi] with open_lo)
    int open_lo;
    const char *choices;    // K_CHOICE / K_ENUM: "a,b,c"
    const char *def;        // the default, parsed like a command-line value (NULL: zero / empty)
    int resume;             // bin/train: may be given again with --resume (--help marks it [resume])
    int saved;              // bin/train: 0, not in the state file; else the state version that added it
    const char *meta, *help;  // --help: the value's name and the text; a row without help is no flag
} FlagRow;

// The field of a settings struct S a row fills: FLAG_FIELD(TrainOptions, lr)
#define FLAG_FIELD(S, field) offsetof(S, field), sizeof(((S *)0)->field)

typedef struct {
    const FlagRow *rows;
    int n_rows;
    const char *usage;      // --help's first lines, printed as they are
    const char *aliases;    // one-letter aliases, "n=max-new" (NULL: none)
    // K_EACH rows: called with each value, in command-line order (NULL when the table has none)
    void (*each)(const FlagRow *r, const char *value, void *settings);
    // --help: a default to show other than the row's own (bin/train: the presets' values); writes
    // "" to keep the row's
    void (*default_text)(const FlagRow *r, char *buf, size_t n);
    void (*usage_end)(FILE *f);   // --help: more text after the flags (NULL: none)
} FlagTable;

// The row named name (not a heading), or -1.
int flags_find(const FlagTable *t, const char *name);
// The index of s in "a,b,c", or -1.
int flags_choice_index(const char *choices, const char *s);
// Parses one value into its field; dies with "--name: expected ..., got "s"".
void flags_set(const FlagRow *r, void *settings, const char *s);
// Every row's default into settings (rows without one keep what is there: zero the struct first).
void flags_defaults(const FlagTable *t, void *settings);
// Defaults (flags_defaults), then the command line: given[i] = 1 for each row the command line set (given has
// n_rows entries). --help prints flags_usage to stdout and exits 0; an unknown flag, a missing
// value or a bad one dies. Returns optind: argv[optind..argc) are the positional arguments.
int flags_parse(const FlagTable *t, int argc, char **argv, void *settings, unsigned char *given);
void flags_usage(const FlagTable *t, FILE *f);
// The first row whose value in settings is outside its range or choices, or -1 (for settings
// read from a file rather than parsed).
int flags_check(const FlagTable *t, const void *settings);
