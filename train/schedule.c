// train/schedule.c — see schedule.h.
#include "train/schedule.h"
#include <math.h>

float lr_at(const LrConfig *c, long step) {
    long span = c->total - 1 - c->warmup;  // so the last step (total-1) runs at exactly min_lr
    if (step >= c->warmup && span <= 0) return c->max_lr;
    return lr_at_progress(c, step, span > 0 ? (double)(step - c->warmup) / (double)span : 0.0);
}

float lr_at_progress(const LrConfig *c, long step, double f) {
    if (step < c->warmup) return c->max_lr * (float)(step + 1) / (float)c->warmup;
    if (c->kind == LR_CONSTANT) return c->max_lr;
    if (!(f > 0.0)) f = 0.0;
    if (f > 1.0) f = 1.0;   // past the planned end (e.g. resumed with more steps): stay at min
    if (c->kind == LR_WSD) {
        double g = (f - (1.0 - c->decay_frac)) / c->decay_frac;   // 0 when the decay starts, 1 at the end
        if (g <= 0.0) return c->max_lr;
        return (float)(c->max_lr + (c->min_lr - c->max_lr) * g);
    }
    return (float)(c->min_lr + (c->max_lr - c->min_lr) * 0.5 * (1.0 + cos(M_PI * f)));
}
