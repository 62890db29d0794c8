// tests/torch_steps.h — bin/train against the AdamW steps of a PyTorch fixture (tools/make_init_fixture.py,
// tools/make_lora_fixtures.py): i32 hparams_i = steps, batch, seq; f32 hparams_f = lr, beta1, beta2,
// eps, weight_decay, grad_clip; f32 losses and grad_norms, one per step.
#pragma once
#include "tests/fixture.h"

// Runs bin/train with `model_flags` (the model and data) and the fixture's hyperparameters as
// bin/train's --shuffle 0 --lr-schedule constant --warmup 0 --dropout 0 run, its checkpoints in
// dir/name, and reads back its --log: the worst relative error of the losses and of the gradient
// norms over the steps. Returns how many steps the log held (the fixture's step count when all
// were there); *rc: bin/train's exit status.
int torch_steps_run(Fixture *fx, const char *model_flags, const char *dir, const char *name, double *loss_err,
                    double *norm_err, int *rc);
