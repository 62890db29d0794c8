// data/hf_tokenizer.h — Hugging Face tokenizer.json (model.type "BPE"): the ids, encode and
// decode of HF tokenizers for its two Llama families.
//
//   byte-level BPE (Llama 3, GPT-2): pre_tokenizer Split(regex, Isolated) and/or ByteLevel; every
//     vocabulary string stands for bytes through GPT-2's bytes_to_unicode; decoder ByteLevel.
//   SentencePiece-style BPE (Llama 2, TinyLlama, Mistral): normalizer Prepend "▁" + Replace " "
//     -> "▁", no pre_tokenizer (the text between added tokens is one word), byte_fallback to
//     <0xNN> tokens; decoder Replace "▁" -> " ", ByteFallback, Fuse, Strip.
//
// encode = HF's: the text is cut at added tokens (leftmost, longest first), each stretch between
// is normalized and pre-tokenized, and each word is merged by HF's BPE: symbols start as the
// word's characters (byte-level: its bytes), then the adjacent pair with the lowest merge rank
// (its line in model.merges) merges, the leftmost of equal ranks first, until no pair is a merge;
// with ignore_merges a word that is itself a token is that token. No BOS/EOS is added (the
// post-processor is left to the caller: hf_tokenizer_bos).
// decode = HF's decode: the tokens' strings through the decoder steps.
// Anything else in a tokenizer.json (another model type, normalizer, pre-tokenizer, decoder, or
// added-token options) is refused at load with a one-line message naming it.
//
// Memory: returned arrays and strings are malloc'd; the caller free()s them.
// Threads: after loading, encode/decode may run on several threads at once.
#pragma once
#include <stddef.h>

typedef struct HfTokenizer HfTokenizer;

// Returns NULL with "path: reason" in err on failure (malformed JSON, unknown model type,
// missing vocab, a merge of unknown tokens, a regex PCRE2 cannot compile...).
HfTokenizer *hf_tokenizer_load(const char *json_path, char *err, size_t errlen);
void hf_tokenizer_free(HfTokenizer *t);

int hf_tokenizer_vocab_size(const HfTokenizer *t);  // largest id (vocabulary or added) + 1
int hf_tokenizer_byte_level(const HfTokenizer *t);  // 1: byte-level family, 0: SentencePiece-style

// text must be valid UTF-8 (else NULL and a message). special: 1 = special added tokens in the
// text become their ids (HF's default), 0 = their text is encoded as ordinary text (HF's
// encode_special_tokens = True). Non-special added tokens always match. Returns a malloc'd array
// of *n ids (never NULL on success), or NULL with err.
int *hf_tokenizer_encode(const HfTokenizer *t, const char *text, size_t len, int special, size_t *n,
                         char *err, size_t errlen);

// HF's decode: a malloc'd, NUL-terminated UTF-8 string (*len without the NUL), or NULL with err
// for an id that is no token. skip_special leaves special added tokens out.
char *hf_tokenizer_decode(const HfTokenizer *t, const int *ids, size_t n, int skip_special, size_t *len,
                          char *err, size_t errlen);

// What one token prints as, for streaming output: byte-level tokens their bytes, SentencePiece
// pieces with "▁" as a space and <0xNN> as the byte, added tokens their text. NULL if id is no
// token. Points into t.
const char *hf_tokenizer_token_bytes(const HfTokenizer *t, int id, size_t *len);
// 1 when the decoder strips a leading space from the text (SentencePiece's dummy prefix).
int hf_tokenizer_strips_lead_space(const HfTokenizer *t);
// The id of a token by its string (an added token's content, or a vocabulary string as written
// in the file), or -1.
int hf_tokenizer_token_id(const HfTokenizer *t, const char *str);
// 1 when id is an added token marked special.
int hf_tokenizer_is_special(const HfTokenizer *t, int id);
