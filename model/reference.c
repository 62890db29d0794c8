// model/reference.c — every op of model/ops.h written the plain way: read this first, then the
// fast version in the op's own file (model/<op>.c), which computes the same thing faster.
//
// Rules here: the formula in a comment above each function; loops in the order the formula
// reads; every sum accumulated in a double; no BLAS, no threads, no blocking, no vector tricks.
// A backward ACCUMULATES into its gradients (+=), like the fast ones: that add into the caller's
// float buffer is the one float sum here (the embedding's scatter-add is made of them). tests/test_ops.c compares
// each fast op against its reference on random inputs (see docs/model.md, "How it is checked").
#include <math.h>
#include "model/ops.h"
#include "model/reference.h"

// ---- embedding ----
// out[n,c] = table[tokens[n], c]
void embedding_forward_ref(float *out, const int *tokens, Mat table, int N, int C) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            out[(size_t)n * C + c] = mat_get(table, (size_t)tokens[n] * C + c);
}

// dtable[tokens[n], c] += dout[n,c]   (a token that appears twice gets both rows)
void embedding_backward_ref(float *dtable, const float *dout, const int *tokens, int N, int C) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            dtable[(size_t)tokens[n] * C + c] += dout[(size_t)n * C + c];
}

// ---- RMSNorm ----
// rstd_n = 1 / sqrt(mean_c x[n,c]^2 + eps);   out[n,c] = x[n,c] * rstd_n * w[c]
void rmsnorm_forward_ref(float *out, float *rstd, const float *inp, const float *weight,
                         int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
        double r = 1.0 / sqrt(ss / C + eps);
        for (int c = 0; c < C; c++) out[(size_t)n * C + c] = (float)(x[c] * r * weight[c]);
        rstd[n] = (float)r;
    }
}

// dw[c] += sum_n dy[n,c] x[n,c] rstd_n
// dx[n,c] += rstd_n (w[c] dy[n,c] - x[n,c] rstd_n^2 mean_j(w[j] dy[n,j] x[n,j]))
void rmsnorm_backward_ref(float *dinp, float *dweight, const float *dout, const float *inp,
                          const float *weight, const float *rstd, int N, int C) {
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int n = 0; n < N; n++) s += (double)dout[(size_t)n * C + c] * inp[(size_t)n * C + c] * rstd[n];
        dweight[c] += (float)s;
    }
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        double r = rstd[n], dot = 0;
        for (int j = 0; j < C; j++) dot += (double)weight[j] * dy[j] * x[j];
        for (int c = 0; c < C; c++)
            dinp[(size_t)n * C + c] += (float)(r * (weight[c] * dy[c] - x[c] * r * r * dot / C));
    }
}

// ---- matmul: y = x W^T ----
// out[m,n] = sum_k inp[m,k] W[n,k]      (W (N,K) of any dtype; scratch is not needed here)
void matmul_forward_ref(float *out, const float *inp, Mat weight, float *scratch, int M, int K, int N) {
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)inp[(size_t)m * K + k] * mat_get(weight, (size_t)n * K + k);
            out[(size_t)m * N + n] = (float)s;
        }
}

// dinp[m,k] += sum_n dout[m,n] W[n,k];   dW[n,k] += sum_m dout[m,n] inp[m,k]   (either may be NULL)
void matmul_backward_ref(float *dinp, float *dweight, const float *dout, const float *inp,
                         const float *weight, int M, int K, int N) {
    for (int m = 0; m < M && dinp; m++)
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += (double)dout[(size_t)m * N + n] * weight[(size_t)n * K + k];
            dinp[(size_t)m * K + k] += (float)s;
        }
    for (int n = 0; n < N && dweight; n++)
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int m = 0; m < M; m++) s += (double)dout[(size_t)m * N + n] * inp[(size_t)m * K + k];
            dweight[(size_t)n * K + k] += (float)s;
        }
}

// dinp[m,k] += sum_n dout[m,n] W[n,k]   (W of any dtype, frozen: no dW)
void matmul_backward_frozen_ref(float *dinp, const float *dout, Mat weight, float *scratch, int M, int K, int N) {
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += (double)dout[(size_t)m * N + n] * mat_get(weight, (size_t)n * K + k);
            dinp[(size_t)m * K + k] += (float)s;
        }
}

// ---- LoRA adapter: out += s (x A^T) B^T ----
// u[m,r] = sum_k inp[m,k] A[r,k];   out[m,n] += s sum_r u[m,r] B[n,r]
void lora_forward_ref(float *out, float *u, const float *inp, const float *A, const float *B, float s,
                      int M, int K, int N, int R) {
    for (int m = 0; m < M; m++)
        for (int r = 0; r < R; r++) {
            double acc = 0;
            for (int k = 0; k < K; k++) acc += (double)inp[(size_t)m * K + k] * A[(size_t)r * K + k];
            u[(size_t)m * R + r] = (float)acc;
        }
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double acc = 0;
            for (int r = 0; r < R; r++) acc += (double)u[(size_t)m * R + r] * B[(size_t)n * R + r];
            out[(size_t)m * N + n] += (float)(s * acc);
        }
}

// dB[n,r] += s sum_m dout[m,n] u[m,r]
// du[m,r] = s sum_n dout[m,n] B[n,r]
// dA[r,k] += sum_m du[m,r] inp[m,k]
// dinp[m,k] += sum_r du[m,r] A[r,k]
void lora_backward_ref(float *dinp, float *dA, float *dB, float *du, const float *dout, const float *inp,
                       const float *u, const float *A, const float *B, float s, int M, int K, int N, int R) {
    for (int n = 0; n < N; n++)
        for (int r = 0; r < R; r++) {
            double acc = 0;
            for (int m = 0; m < M; m++) acc += (double)dout[(size_t)m * N + n] * u[(size_t)m * R + r];
            dB[(size_t)n * R + r] += (float)(s * acc);
        }
    for (int m = 0; m < M; m++)
        for (int r = 0; r < R; r++) {
            double acc = 0;
            for (int n = 0; n < N; n++) acc += (double)dout[(size_t)m * N + n] * B[(size_t)n * R + r];
            du[(size_t)m * R + r] = (float)(s * acc);
        }
    for (int r = 0; r < R; r++)
        for (int k = 0; k < K; k++) {
            double acc = 0;
            for (int m = 0; m < M; m++) acc += (double)du[(size_t)m * R + r] * inp[(size_t)m * K + k];
            dA[(size_t)r * K + k] += (float)acc;
        }
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++) {
            double acc = 0;
            for (int r = 0; r < R; r++) acc += (double)du[(size_t)m * R + r] * A[(size_t)r * K + k];
            dinp[(size_t)m * K + k] += (float)acc;
        }
}

// ---- RoPE (rotate-half) ----
// Row (b,t) sits at position pos = pos0 + t; in each head, dims i and i + HD/2 (i < HD/2) turn by
// the angle a whose cos/sin are cos_t[pos, i], sin_t[pos, i] (rope_tables):
//   y[i] = x[i] cos a - x[i+HD/2] sin a,   y[i+HD/2] = x[i+HD/2] cos a + x[i] sin a
// A rotation's transpose is the turn by -a (sin a -> -sin a), so the backward is the same loop:
//   dx[i] += dy[i] cos a + dy[i+HD/2] sin a,   dx[i+HD/2] += dy[i+HD/2] cos a - dy[i] sin a
// rotate: out (=, or += when add) the rotation of inp by a (dir = 1) or by -a (dir = -1)
static void rotate(float *out, const float *inp, const float *cos_t, const float *sin_t,
                   int B, int T, int nh, int HD, int pos0, double dir, int add) {
    int half = HD / 2;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < nh; h++)
                for (int i = 0; i < half; i++) {
                    size_t at = ((size_t)b * T + t) * nh * HD + (size_t)h * HD + i;
                    double c = cos_t[(size_t)(pos0 + t) * half + i];
                    double s = dir * sin_t[(size_t)(pos0 + t) * half + i];
                    double x1 = inp[at], x2 = inp[at + half];   // both read first: out may be inp
                    double y1 = x1 * c - x2 * s, y2 = x2 * c + x1 * s;
                    out[at] = (float)(add ? out[at] + y1 : y1);
                    out[at + half] = (float)(add ? out[at + half] + y2 : y2);
                }
}

void rope_forward_ref(float *out, const float *inp, const float *cos_t, const float *sin_t,
                      int B, int T, int nh, int HD, int pos0) {
    rotate(out, inp, cos_t, sin_t, B, T, nh, HD, pos0, 1.0, 0);
}

void rope_backward_ref(float *dinp, const float *dout, const float *cos_t, const float *sin_t,
                       int B, int T, int nh, int HD, int pos0) {
    rotate(dinp, dout, cos_t, sin_t, B, T, nh, HD, pos0, -1.0, 1);
}

// ---- causal grouped-query attention ----
// Query t of batch row b, head h, sits at position Tk-T+t and sees keys j = 0..Tk-T+t of KV head
// g = h / (NH/NKV):
//   S_j = q[b,t,h,:] . k[b,j,g,:] / sqrt(HD)
//   P_j = exp(S_j - max S) / sum_j' exp(S_j' - max S)           (stored in att[b,h,t,j]; 0 beyond)
//   D_j = P_j keep(j) / (1-p)   (dropout, p > 0; keep = dropout_keep on att's element index)
//   out[b,t,h,:] = sum_j D_j v[b,j,g,:]
static size_t q_at(int b, int t, int h, int T, int NH, int HD) { return (((size_t)b * T + t) * NH + h) * HD; }
static size_t kv_at(int b, int j, int g, int Tk, int NKV, int HD) { return (((size_t)b * Tk + j) * NKV + g) * HD; }
static size_t att_at(int b, int h, int t, int j, int NH, int T, int Tk) { return (((size_t)b * NH + h) * T + t) * Tk + j; }

static double score(const float *q, const float *k, int HD) {   // q . k / sqrt(HD)
    double d = 0;
    for (int i = 0; i < HD; i++) d += (double)q[i] * k[i];
    return d / sqrt((double)HD);
}
// the dropout factor keep(j) / (1-p), or 1 without dropout
static double drop_factor(float p, uint64_t key, size_t element) {
    return p > 0 ? (dropout_keep(key, element, p) ? 1.0 / (1.0 - p) : 0.0) : 1.0;
}

void attention_forward_ref(float *out, float *att, float *scratch, const float *q, const float *k,
                           const float *v, int B, int T, int Tk, int NH, int NKV, int HD, float p, uint64_t key,
                           size_t first) {
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                int g = h / (NH / NKV), n = Tk - T + t + 1;      // n keys visible
                const float *qt = q + q_at(b, t, h, T, NH, HD);
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < n; j++) mx = fmax(mx, score(qt, k + kv_at(b, j, g, Tk, NKV, HD), HD));
                for (int j = 0; j < n; j++) sum += exp(score(qt, k + kv_at(b, j, g, Tk, NKV, HD), HD) - mx);
                double o[HD];                                    // out[b,t,h,:], in double
                for (int i = 0; i < HD; i++) o[i] = 0;
                for (int j = 0; j < Tk; j++) {
                    size_t e = att_at(b, h, t, j, NH, T, Tk);
                    double P = j < n ? exp(score(qt, k + kv_at(b, j, g, Tk, NKV, HD), HD) - mx) / sum : 0.0;
                    att[e] = (float)P;
                    for (int i = 0; i < HD && j < n; i++)
                        o[i] += P * drop_factor(p, key, first + e) * v[kv_at(b, j, g, Tk, NKV, HD) + i];
                }
                for (int i = 0; i < HD; i++) out[q_at(b, t, h, T, NH, HD) + i] = (float)o[i];
            }
}

// With P from att and dout the gradient of out, per query row (b,h,t):
//   dD_j = dout[b,t,h,:] . v[b,j,g,:],   dP_j = dD_j keep(j)/(1-p)
//   dS_j = P_j (dP_j - sum_j' P_j' dP_j')                        (the softmax's Jacobian)
// then, summing over every query row that touches the key or value:
//   dq[b,t,h,:] += sum_j dS_j k[b,j,g,:] / sqrt(HD)
//   dk[b,j,g,:] += sum_{h in g, t} dS_j q[b,t,h,:] / sqrt(HD)
//   dv[b,j,g,:] += sum_{h in g, t} D_j dout[b,t,h,:]
// datt holds dS (overwritten, like the fast op's scratch).
void attention_backward_ref(float *dq, float *dk, float *dv, float *datt, float *scratch, const float *dout,
                            const float *q, const float *k, const float *v, const float *att,
                            int B, int T, int Tk, int NH, int NKV, int HD, float p, uint64_t key,
                            size_t first) {
    int group = NH / NKV;
    double scale = 1.0 / sqrt((double)HD);
    // dS for every row, into datt
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                int g = h / group, n = Tk - T + t + 1;
                const float *dy = dout + q_at(b, t, h, T, NH, HD);
                double dot = 0;                                    // sum_j P_j dP_j
                for (int j = 0; j < n; j++) {
                    size_t e = att_at(b, h, t, j, NH, T, Tk);
                    double dP = 0;
                    for (int i = 0; i < HD; i++) dP += (double)dy[i] * v[kv_at(b, j, g, Tk, NKV, HD) + i];
                    dP *= drop_factor(p, key, first + e);
                    datt[e] = (float)dP;                           // dP for now, dS below
                    dot += att[e] * dP;
                }
                for (int j = 0; j < Tk; j++) {
                    size_t e = att_at(b, h, t, j, NH, T, Tk);
                    datt[e] = j < n ? (float)(att[e] * (datt[e] - dot)) : 0.0f;
                }
            }
    // dq
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < HD; i++) {
                    double s = 0;
                    for (int j = 0; j < Tk - T + t + 1; j++)
                        s += (double)datt[att_at(b, h, t, j, NH, T, Tk)] * k[kv_at(b, j, h / group, Tk, NKV, HD) + i];
                    dq[q_at(b, t, h, T, NH, HD) + i] += (float)(s * scale);
                }
    // dk, dv: every query row of the group's heads that sees key j (t >= j - (Tk-T))
    for (int b = 0; b < B; b++)
        for (int j = 0; j < Tk; j++)
            for (int g = 0; g < NKV; g++)
                for (int i = 0; i < HD; i++) {
                    double sk = 0, sv = 0;
                    for (int h = g * group; h < (g + 1) * group; h++)
                        for (int t = 0; t < T; t++) {
                            if (j > Tk - T + t) continue;          // key j is after query t
                            size_t e = att_at(b, h, t, j, NH, T, Tk);
                            sk += (double)datt[e] * q[q_at(b, t, h, T, NH, HD) + i];
                            sv += att[e] * drop_factor(p, key, e) * dout[q_at(b, t, h, T, NH, HD) + i];
                        }
                    dk[kv_at(b, j, g, Tk, NKV, HD) + i] += (float)(sk * scale);
                    dv[kv_at(b, j, g, Tk, NKV, HD) + i] += (float)sv;
                }
}

// ---- SwiGLU ----
// out = silu(gate) up,  silu(a) = a sigmoid(a) = a / (1 + e^-a)
void swiglu_forward_ref(float *out, const float *gate, const float *up, size_t N) {
    for (size_t i = 0; i < N; i++) {
        double a = gate[i];
        out[i] = (float)(a / (1.0 + exp(-a)) * up[i]);
    }
}

// dup += dout silu(gate);  dgate += dout up silu'(gate),  silu'(a) = s + a s (1-s),  s = sigmoid(a)
void swiglu_backward_ref(float *dgate, float *dup, const float *dout, const float *gate,
                         const float *up, size_t N) {
    for (size_t i = 0; i < N; i++) {
        double a = gate[i], s = 1.0 / (1.0 + exp(-a));
        dup[i] += (float)(dout[i] * a * s);
        dgate[i] += (float)(dout[i] * up[i] * (s + a * s * (1.0 - s)));
    }
}

// ---- residual ----
// out = inp1 + inp2;  backward: dinp1 += dout, dinp2 += dout
void residual_forward_ref(float *out, const float *inp1, const float *inp2, size_t N) {
    for (size_t i = 0; i < N; i++) out[i] = (float)((double)inp1[i] + inp2[i]);
}

void residual_backward_ref(float *dinp1, float *dinp2, const float *dout, size_t N) {
    for (size_t i = 0; i < N; i++) { dinp1[i] += dout[i]; dinp2[i] += dout[i]; }
}

// ---- dropout ----
// out_i = keep(first+i) ? inp_i / (1-p) : 0, keep(e) = dropout_keep(key, e, p) (the mask's
// definition); p == 0 is the identity.   backward: dinp_i += keep(first+i) ? dout_i / (1-p) : 0
void dropout_forward_ref(float *out, const float *inp, float p, uint64_t key, size_t first, size_t N) {
    for (size_t i = 0; i < N; i++) out[i] = p > 0 ? (float)(inp[i] * drop_factor(p, key, first + i)) : inp[i];
}

void dropout_backward_ref(float *dinp, const float *dout, float p, uint64_t key, size_t first, size_t N) {
    for (size_t i = 0; i < N; i++) dinp[i] += p > 0 ? (float)(dout[i] * drop_factor(p, key, first + i)) : dout[i];
}

// ---- cross-entropy ----
// loss_n = log sum_i exp(z[n,i]) - z[n, y_n]  (shifted by the row's max for range); 0 where y_n < 0
void crossentropy_forward_ref(float *losses, const float *logits, const int *targets, int N, int V) {
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * V;
        if (targets[n] < 0) { losses[n] = 0.0f; continue; }
        double mx = -INFINITY, s = 0;
        for (int i = 0; i < V; i++) mx = fmax(mx, z[i]);
        for (int i = 0; i < V; i++) s += exp(z[i] - mx);
        losses[n] = (float)(log(s) + mx - z[targets[n]]);
    }
}

// dz[n,i] += dloss_n (softmax(z_n)_i - [i == y_n]), the softmax recomputed here (the cached
// losses are not used)
void crossentropy_backward_ref(float *dlogits, const float *dlosses, const float *logits,
                               const float *losses, const int *targets, int N, int V) {
    for (int n = 0; n < N; n++) {
        if (targets[n] < 0) continue;
        const float *z = logits + (size_t)n * V;
        double mx = -INFINITY, s = 0;
        for (int i = 0; i < V; i++) mx = fmax(mx, z[i]);
        for (int i = 0; i < V; i++) s += exp(z[i] - mx);
        for (int i = 0; i < V; i++)
            dlogits[(size_t)n * V + i] += (float)(dlosses[n] * (exp(z[i] - mx) / s - (i == targets[n])));
    }
}
