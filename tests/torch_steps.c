// tests/torch_steps.c — see torch_steps.h.
#include "tests/torch_steps.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "tests/test.h"

int torch_steps_run(Fixture *fx, const char *model_flags, const char *dir, const char *name, double *loss_err,
                    double *norm_err, int *rc) {
    const int *hi = fixture_get(fx, "hparams_i")->data;
    const float *hf = fixture_get(fx, "hparams_f")->data, *want = fixture_get(fx, "losses")->data;
    const float *want_norm = fixture_get(fx, "grad_norms")->data;
    char cmd[4096], path[512];
    snprintf(path, sizeof path, "%s/%s.csv", dir, name);
    snprintf(cmd, sizeof cmd,
             "%s/train %s --steps %d --batch %d --seq %d --shuffle 0 --lr-schedule constant --warmup 0 --lr %g --beta1 %g "
             "--beta2 %g --eps %g --weight-decay %g --grad-clip %g --dropout 0 --eval-every 0 --eval-batches 1 "
             "--sample-chars 0 --threads 2 --ckpt-dir %s/%s --log %s > %s/%s.out 2>&1",
             test_bin_dir(), model_flags, hi[0], hi[1], hi[2], hf[0], hf[1], hf[2], hf[3], hf[4], hf[5], dir, name, path,
             dir, name);
    int st = system(cmd);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;
    *loss_err = *norm_err = 0;
    if (f && fgets(line, sizeof line, f)) {   // header, then "step,train_loss,val_loss,lr,grad_norm,..."
        while (fgets(line, sizeof line, f)) {
            int step;
            double loss, lr, norm;
            if (sscanf(line, "%d,%lf,,%lf,%lf", &step, &loss, &lr, &norm) != 4 || step != n || n >= hi[0]) continue;
            *loss_err = fmax(*loss_err, fabs(loss - want[n]) / want[n]);
            *norm_err = fmax(*norm_err, fabs(norm - want_norm[n]) / want_norm[n]);
            n++;
        }
    }
    if (f) fclose(f);
    return n;
}
