// infer/chat.h — the chat formats bin/infer --chat speaks, picked from the tokenizer.
//
//   Llama 3: [<|begin_of_text|>] <|start_header_id|>role<|end_header_id|>\n\n{content}<|eot_id|> ...
//            then <|start_header_id|>assistant<|end_header_id|>\n\n; a turn ends with <|eot_id|>
//   Llama 2: <s>[INST] {content} [/INST] (the first turn's content starts with
//            "<<SYS>>\n{system}\n<</SYS>>\n\n"); an answer ends with </s>
// Both as the models' chat templates in tokenizer_config.json write them (content trimmed).
#pragma once
#include <stddef.h>
#include "infer/tokenizer.h"

typedef enum { CHAT_LLAMA3, CHAT_LLAMA2 } ChatFormat;

typedef struct {
    ChatFormat format;
    Tokenizer *tok;
    int bos;      // -1: none
    int end_id;   // what ends the assistant's turn: <|eot_id|> or </s>
    int start_header, end_header;
} Chat;

// Picks the format: template_kind is what tokenizer_config.json's chat_template looks like
// ("llama3", "inst", "other", or "" when there is none: then the tokenizer's special tokens
// decide). Returns 0, or -1 with a one-line reason in err.
int chat_init(Chat *c, Tokenizer *tok, const char *template_kind, int bos, char *err, size_t errlen);
// Appends the ids of one user turn and the assistant's header to (*ids, *n, *cap) (realloc'd):
// the first turn starts with BOS and carries the system message (NULL: none).
int chat_user_turn(const Chat *c, int first, const char *system, const char *user, int **ids, int *n, int *cap,
                   char *err, size_t errlen);
