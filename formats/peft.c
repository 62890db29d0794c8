// formats/peft.c — see peft.h.
#include "formats/peft.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "formats/safetensors.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/read_file.h"

// target_modules' names: the last part of lora_module_names ("self_attn.q_proj" -> "q_proj")
static const char *module_leaf(int t) { return strchr(lora_module_names[t], '.') + 1; }

int peft_write(const Lora *l, const char *base_name, const char *dir, char *err, size_t errlen) {
    char path[4096];
    SafeTensorOut *ts = calloc(l->n_tensors, sizeof *ts);
    if (!ts) return fail(err, errlen, "out of memory");
    size_t off = 0;
    for (int i = 0; i < l->n_tensors; i++) {
        int ly, t;
        lora_tensor_at(l, i, &ly, &t);
        lora_tensor_name(l, i, ts[i].name, sizeof ts[i].name);
        ts[i].mat = (Mat){l->params + off, DTYPE_F32};
        ts[i].rows = i % 2 ? (size_t)l->out[t] : (size_t)l->rank;   // A (R, in), B (out, R)
        ts[i].cols = i % 2 ? l->rank : l->in[t];
        off += l->sizes[i];
    }
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    int rc = safetensors_write(path, ts, l->n_tensors, DTYPE_F32, err, errlen);
    free(ts);
    if (rc) return -1;

    cJSON *j = cJSON_CreateObject();
    cJSON_AddObjectToObject(j, "alpha_pattern");
    cJSON_AddStringToObject(j, "base_model_name_or_path", base_name);
    cJSON_AddStringToObject(j, "bias", "none");
    cJSON_AddBoolToObject(j, "fan_in_fan_out", 0);
    cJSON_AddBoolToObject(j, "inference_mode", 1);
    cJSON_AddBoolToObject(j, "init_lora_weights", 1);
    cJSON_AddNullToObject(j, "layers_pattern");
    cJSON_AddNullToObject(j, "layers_to_transform");
    // alpha as the float it is (8 prints as 8, 0.5 as 0.5)
    char num[32];
    snprintf(num, sizeof num, "%.9g", l->alpha);
    cJSON_AddNumberToObject(j, "lora_alpha", strtod(num, NULL));
    cJSON_AddNumberToObject(j, "lora_dropout", 0.0);
    cJSON_AddNullToObject(j, "modules_to_save");
    cJSON_AddStringToObject(j, "peft_type", "LORA");
    cJSON_AddNumberToObject(j, "r", l->rank);
    cJSON_AddObjectToObject(j, "rank_pattern");
    cJSON_AddNullToObject(j, "revision");
    cJSON *tm = cJSON_AddArrayToObject(j, "target_modules");
    for (int t = 0; t < LORA_NT; t++)
        if (l->targets & (1u << t)) cJSON_AddItemToArray(tm, cJSON_CreateString(module_leaf(t)));
    cJSON_AddStringToObject(j, "task_type", "CAUSAL_LM");
    cJSON_AddBoolToObject(j, "use_dora", 0);
    cJSON_AddBoolToObject(j, "use_rslora", 0);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return fail(err, errlen, "adapter_config.json: out of memory");
    size_t n = strlen(text);
    text[n] = '\n';   // cJSON_Print's buffer has the NUL there; the file ends with a newline
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    AtomicFile af;
    rc = atomic_open(&af, path, err, errlen);
    if (!rc && atomic_write(&af, text, n + 1, err, errlen)) { atomic_abort(&af); rc = -1; }
    else if (!rc) rc = atomic_commit(&af, err, errlen);
    free(text);
    return rc;
}

// A key that must be absent, null, false, empty or equal to `ok` (a string) for us to compute
// what peft would: NULL when fine, else the key's name.
static const char *unsupported(const cJSON *j) {
    static const char *off[] = {"use_rslora", "use_dora", "fan_in_fan_out", "layers_to_transform", "layers_pattern",
                                "modules_to_save", "rank_pattern", "alpha_pattern", "layer_replication", "lora_bias",
                                "trainable_token_indices", "use_qalora", "target_parameters", "exclude_modules"};
    for (size_t k = 0; k < sizeof off / sizeof *off; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, off[k]);
        if (v && !cJSON_IsNull(v) && !cJSON_IsFalse(v) && !((cJSON_IsObject(v) || cJSON_IsArray(v)) && !v->child))
            return off[k];
    }
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "bias");
    if (b && !cJSON_IsNull(b) && !(cJSON_IsString(b) && !strcmp(b->valuestring, "none"))) return "bias";
    return NULL;
}

Lora *peft_read(const char *dir, const Config *c, char *base_name, size_t cap, char *err, size_t errlen) {
    char path[4096], e2[512];
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    size_t len;
    char *text = read_file_all(path, &len, e2, sizeof e2);
    if (!text) return fail_null(err, errlen, "%s", e2);
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    Lora *l = NULL;
    SafeTensors st = {0};
    int st_open = 0;
    if (!cJSON_IsObject(j)) { fail(err, errlen, "%s: malformed JSON", path); goto out; }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "peft_type");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "r"), *alpha = cJSON_GetObjectItemCaseSensitive(j, "lora_alpha");
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(j, "target_modules"), *x;
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(j, "base_model_name_or_path");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "LORA")) { fail(err, errlen, "%s: peft_type is not \"LORA\"", path); goto out; }
    if (!cJSON_IsNumber(r) || r->valuedouble != floor(r->valuedouble) || r->valuedouble < 1 || r->valuedouble > 65536) {
        fail(err, errlen, "%s: \"r\" must be a whole number from 1 to 65536", path);
        goto out;
    }
    if (!cJSON_IsNumber(alpha) || !(alpha->valuedouble > 0) || !isfinite(alpha->valuedouble)) {
        fail(err, errlen, "%s: \"lora_alpha\" must be a number > 0", path);
        goto out;
    }
    const char *bad = unsupported(j);
    if (bad) { fail(err, errlen, "%s: \"%s\" is set, which bin/train's LoRA does not compute", path, bad); goto out; }
    if (!cJSON_IsArray(tm)) { fail(err, errlen, "%s: \"target_modules\" must be a list of module names", path); goto out; }
    unsigned targets = 0;
    cJSON_ArrayForEach(x, tm) {
        int t = -1;
        for (int k = 0; k < LORA_NT && cJSON_IsString(x); k++) if (!strcmp(x->valuestring, module_leaf(k))) t = k;
        if (t < 0) {
            fail(err, errlen, "%s: target module %s is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj",
                 path, cJSON_IsString(x) ? x->valuestring : "(not a string)");
            goto out;
        }
        targets |= 1u << t;
    }
    l = lora_create(c, (int)r->valuedouble, (float)alpha->valuedouble, targets, e2, sizeof e2);
    if (!l) { fail(err, errlen, "%s: %s", path, e2); goto out; }
    if (base_name) snprintf(base_name, cap, "%s", cJSON_IsString(base) ? base->valuestring : "");
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    if (safetensors_open(&st, path, err, errlen) != 0) goto bad;
    st_open = 1;
    if (st.n_tensors != l->n_tensors) {
        fail(err, errlen, "%s: %d tensors, the config's %d layers x %d modules need %d", path, st.n_tensors, c->n_layers,
             l->n_tensors / (2 * c->n_layers), l->n_tensors);
        goto bad;
    }
    size_t off = 0;
    for (int i = 0; i < l->n_tensors; i++) {
        int ly, t;
        char name[128];
        lora_tensor_at(l, i, &ly, &t);
        lora_tensor_name(l, i, name, sizeof name);
        const SafeTensor *s = safetensors_find(&st, name);
        int64_t rows = i % 2 ? l->out[t] : l->rank, cols = i % 2 ? l->rank : l->in[t];
        if (!s) { fail(err, errlen, "%s: no tensor %s", path, name); goto bad; }
        if (s->dtype < 0 || dtype_is_quant((DType)s->dtype) || s->ndim != 2 || s->shape[0] != rows || s->shape[1] != cols) {
            fail(err, errlen, "%s: %s is %s of %d dims, expected F32/BF16/F16 (%lld, %lld)", path, name, s->dtype_str, s->ndim,
                 (long long)rows, (long long)cols);
            goto bad;
        }
        Mat m = {s->data, (DType)s->dtype};
        for (size_t k = 0; k < l->sizes[i]; k++) l->params[off + k] = mat_get(m, k);
        off += l->sizes[i];
    }
    goto out;
bad:
    lora_free(l);
    l = NULL;
out:
    if (st_open) safetensors_close(&st);
    cJSON_Delete(j);
    return l;
}
