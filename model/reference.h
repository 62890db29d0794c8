// model/reference.h — a plain version of every op in model/ops.h, for reading and for the tests.
//
// Each *_ref function has the signature of its fast twin in ops.h (same arguments, same shapes,
// same accumulate-into-gradients contract) and computes the same thing the obvious way: the
// math in a comment, loops in the order the formula reads, every sum in double. No BLAS, no
// blocking, no threads, no vector tricks; exp and log from libm. They are slow (attention is
// O(T²·HD) scalar loops) and only the tests call them: tests/test_ops.c runs each fast op and its
// reference on the same random inputs and compares (a third oracle beside finite differences and
// PyTorch). Arguments a reference does not need (matmul's scratch, crossentropy's cached losses)
// are kept so that a call can be switched from one version to the other by adding "_ref".
#pragma once
// Each declaration takes its type from the fast op's (GCC's __typeof__), so the compiler holds
// the two signatures equal.
#include "model/ops.h"
#define REFERENCE_OF(op) __typeof__(op) op##_ref
REFERENCE_OF(embedding_forward);    REFERENCE_OF(embedding_backward);
REFERENCE_OF(rmsnorm_forward);      REFERENCE_OF(rmsnorm_backward);
REFERENCE_OF(matmul_forward);       REFERENCE_OF(matmul_backward);
REFERENCE_OF(matmul_backward_frozen); REFERENCE_OF(lora_forward); REFERENCE_OF(lora_backward);
REFERENCE_OF(rope_forward);         REFERENCE_OF(rope_backward);
REFERENCE_OF(attention_forward);    REFERENCE_OF(attention_backward);
REFERENCE_OF(swiglu_forward);       REFERENCE_OF(swiglu_backward);
REFERENCE_OF(residual_forward);     REFERENCE_OF(residual_backward);
REFERENCE_OF(dropout_forward);      REFERENCE_OF(dropout_backward);
REFERENCE_OF(crossentropy_forward); REFERENCE_OF(crossentropy_backward);
#undef REFERENCE_OF
