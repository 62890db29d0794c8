// train/schedule.h — the learning rate as a function of the step.
//
//   warmup:  lr(s) = max_lr * (s + 1) / warmup                  for s < warmup
//   cosine:  lr(s) = min_lr + (max_lr - min_lr) * (1 + cos(pi * f)) / 2,
//            f = (s - warmup) / (total - 1 - warmup) in [0, 1]  for warmup <= s < total
//   wsd:     lr(s) = max_lr while f < 1 - decay_frac, then linear to min_lr at f = 1
//            ("warmup, stable, decay": the last decay_frac of the steps after warmup decay)
//   constant: lr(s) = max_lr after warmup
// Warmup keeps the first updates small while AdamW's second-moment estimate v is still noisy;
// the decay lets the end of training settle into a minimum with small steps. wsd keeps the full
// lr for longer than cosine and decays over a fixed share of the run (make train's tiny preset:
// the last half; docs/training.md, "Choosing the tiny preset").
#pragma once

typedef enum { LR_COSINE = 0, LR_CONSTANT = 1, LR_WSD = 2 } LrSchedule;

typedef struct {
    LrSchedule kind;
    float max_lr, min_lr;
    long warmup, total;   // steps; step s runs from 0 to total-1
    float decay_frac;     // wsd: the share of the steps after warmup that decay, in (0, 1]
} LrConfig;

float lr_at(const LrConfig *c, long step);
// The same with f given: the share of the run after warmup that is behind us, in [0, 1] (values
// outside are clamped). bin/train with a time budget passes the share of the budget's time spent,
// so that the decay ends when the budget does however fast the machine runs; lr_at passes
// (step - warmup) / (total - 1 - warmup).
float lr_at_progress(const LrConfig *c, long step, double f);
