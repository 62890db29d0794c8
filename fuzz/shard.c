// fuzz/shard.c — llm.c's token shards (data/shards.c) and the dataloader that serves batches
// from them (data/dataloader.c).
//
// Input: the shard file (256 int32 header: magic, version, token count; then uint16 or
// uint32 tokens). The header's unused ints 3 and 4 (llm.c writes zeros there) give a saved
// data position (epoch, pos) to restore, so the fuzzer reaches dataloader_set_state too.
// Promise: a one-line error, or a shard whose every token is inside the file and at most
// shard_max_token (that is the check bin/train makes against the vocabulary), and batches
// that hold only tokens of the shard.
#include "fuzz/fuzz.h"
#include "data/dataloader.h"
#include "data/shards.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("tokens.bin", data, size);
    Shard s;
    char err[1024] = "";
    if (shard_open(&s, path, err, sizeof err) != 0) { fuzz_check_message(err); return 0; }
    int mx = shard_max_token(&s);
    for (size_t i = 0; i < s.num_tokens; i++) {
        int t = shard_token(&s, i);
        FUZZ_CHECK(t >= 0 && t <= mx, "token %zu is %d, outside [0, shard_max_token %d]", i, t, mx);
    }
    size_t n = s.num_tokens;
    shard_close(&s);
    int32_t hdr[5];
    memcpy(hdr, data, sizeof hdr);
    const int shapes[][2] = {{1, 1}, {2, 3}, {1, 16}};
    for (int k = 0; k < 3; k++)
        for (int shuffle = 0; shuffle <= 1; shuffle++) {
            DataLoader dl;
            int B = shapes[k][0], T = shapes[k][1];
            if (dataloader_init(&dl, path, B, T, shuffle, 7, err, sizeof err) != 0) {
                fuzz_check_message(err);
                continue;
            }
            FUZZ_CHECK(dataloader_batches_per_epoch(&dl) >= 1, "an epoch with no batches");
            DataLoaderState st = {(uint32_t)hdr[3] % 4, (uint32_t)hdr[4]};
            if (dataloader_set_state(&dl, st, err, sizeof err) != 0) fuzz_check_message(err);
            for (int b = 0; b < 4; b++) {
                dataloader_next_batch(&dl);
                for (int i = 0; i < B * T; i++)
                    FUZZ_CHECK(dl.inputs[i] >= 0 && dl.inputs[i] <= mx && dl.targets[i] >= 0 && dl.targets[i] <= mx,
                               "batch token outside the shard's range");
            }
            (void)n;
            dataloader_free(&dl);
        }
    return 0;
}
