// train/train.c — bin/train: train a Llama on token shards, with AdamW, a warmup + cosine or wsd
// learning rate, gradient clipping and accumulation, dropout, periodic evaluation (nats/token
// and bits/byte), sampling, and checkpoints a later run can resume from bit for bit.
//
// The files of a run: train/options.c (every flag, one table), train/run.c (setting the run up,
// saving it), train/step.c (train_step: one update; evaluate; sample), train/report.c (what it
// prints), train/adamw.c and train/schedule.c (the optimizer and the learning rate),
// train/state.c (the state file --resume reads). docs/training.md walks through one step.
//
// Data parallelism: `mpirun -np N bin/train ...` trains on N processes (train/dist.h; process 0
// prints, logs and saves).
//
// Output: a progress line per step on stdout (a live bar when stdout is a terminal), eval
// results and samples on stdout; errors as one line on stderr, exit 1.
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <omp.h>

#include "util/blas_core.h"
#include "util/errors.h"
#include "formats/checkpoint.h"
#include "train/dist.h"
#include "train/run.h"

// Evaluates at step `step`, keeping model_best.bin; the last evaluation is the run's result.
static float eval_now(Run *r, long step, double *bpb) {
    double t0 = now_s();
    int nb;
    char err[LORA_PATH_MAX + 512];
    float vl = evaluate(r, bpb, &nb);
    r->eval_s = now_s() - t0;
    bar_break(r);
    if (isfinite(*bpb)) printf("eval step %ld: val loss %.4f nats/token, %.4f bits/byte (%d batches)\n", step, vl, *bpb, nb);
    else printf("eval step %ld: val loss %.4f nats/token (%d batches)\n", step, vl, nb);
    fflush(stdout);
    if (vl < r->st.best_val) {   // (vl is the same on every process)
        r->st.best_val = vl;
        r->st.best_step = (uint64_t)step;
        if (r->rank != 0) return vl;
        char bp[TRAIN_PATH_MAX + 64];
        snprintf(bp, sizeof bp, "%s/model_best.bin", r->o.ckpt_dir);
        if (run_save_model(r, bp, (uint64_t)step, err, sizeof err))
            die("saving checkpoint: %s (the previous checkpoint is intact)", err);
    }
    return vl;
}

int main(int argc, char **argv) {
    Run run, *r = &run;
    dist_init(&argc, &argv);
    run_init(r, argc, argv);
    const TrainOptions *o = &r->o;
    Profile prof = {0};
    StopReason why = STOP_DONE;
    float final_val = NAN;
    double final_bpb = NAN;
    long step = (long)r->st.step, start_step = step;
    int finishing = 0;   // the time budget is spent: evaluate, save and sample once more

    // step s evaluates/samples on the weights after s updates, then does update s
    for (;; step++) {
        int last = step >= r->total || finishing;
        if ((o->eval_every > 0 && step % o->eval_every == 0) || last) {
            double bpb;
            float vl = eval_now(r, step, &bpb);
            if (last) { log_row(r, step, NAN, vl, -1, -1, -1); final_val = vl; final_bpb = bpb; }
            else r->pending_val = vl;
        }
        if (last) {
            run_save(r);   // before the sample, so the saved sampler state is the one a resume needs
            char title[64];
            snprintf(title, sizeof title, "step %ld, end", step);
            sample(r, title);
            break;
        }
        if (o->sample_every > 0 && step % o->sample_every == 0 && step > 0) {
            bar_break(r);
            char title[64];
            snprintf(title, sizeof title, "step %ld", step);
            sample(r, title);
        }

        r->m->profile = o->profile;   // ops are timed during updates only, not evals
        StepResult s = train_step(r, step);
        r->m->profile = 0;
        if (o->profile) { prof.steps++; prof.step_s += s.ms / 1000; prof.data_s += s.data_s; prof.opt_s += s.opt_s; }
        progress(r, step, &s);
        log_row(r, step, s.loss, r->pending_val, s.lr, (float)s.norm, r->tokens_per_step / (s.ms / 1000));
        r->pending_val = NAN;

        // stop early: Ctrl-C or a test's stop point save now; the time budget wraps up. Several
        // processes stop together: a signal to any one of them stops all after this step.
        if (step + 1 < r->total) {
            int stop = dist_or((run_stop_requested ? 1 : 0) | (r->final_update || run_budget_spent(r, 0) ? 2 : 0));
            if (stop & 1) why = STOP_INTERRUPTED;
            else if (o->stop_at > 0 && step + 1 >= o->stop_at) why = STOP_AT;
            if (why != STOP_DONE) { bar_break(r); run_save(r); break; }
            // the budget's last update (train_step decided it, and gave it the decay's last lr),
            // or already past the budget however that happened
            if (stop & 2) {
                why = STOP_TIME;
                finishing = 1;
                continue;
            }
            if (o->ckpt_every > 0 && (step + 1) % o->ckpt_every == 0) run_save(r);
        }
    }

    // ---- the report ----
    char mp[TRAIN_PATH_MAX + 64];
    ckpt_model_path(mp, sizeof mp, o->ckpt_dir, r->st.step);
    double took = now_s() - r->run_start;
    if (o->profile) print_profile(r->m, &prof, r->tokens_per_step);
    if (r->ranks > 1)
        printf("communication: %.2f s of %.1f s in MPI calls on process 0 (%d processes)\n", dist_comm_seconds(), took, r->ranks);
    if (why == STOP_DONE || why == STOP_TIME) {   // both ended with a final evaluation
        printf("%s: %" PRIu64 " steps in %.1f s (%.0f tokens/s, %d threads, OpenBLAS %s)\n",
               why == STOP_DONE ? "done" : "time budget spent", r->st.step, took,
               (double)(r->st.step - start_step) * r->tokens_per_step / took, omp_get_max_threads(), blas_core_name());
        if (isfinite(final_bpb))
            printf("final val loss %.4f nats/token, %.4f bits/byte (best %.4f nats/token at step %" PRIu64 ")\n",
                   final_val, final_bpb, r->st.best_val, r->st.best_step);
        else
            printf("final val loss %.4f nats/token (best %.4f at step %" PRIu64 ")\n", final_val, r->st.best_val, r->st.best_step);
        printf("checkpoints: %s (last), %s/model_best.bin (best val)\n", mp, o->ckpt_dir);
    }
    if (why == STOP_DONE) {
        printf("sample more: bin/infer %s/model_best.bin\n", o->ckpt_dir);
    } else {
        const char *what = why == STOP_INTERRUPTED ? "interrupted" : why == STOP_TIME ? "stopped at the --max-minutes budget"
                                                                                      : "stopped at SCRATCHLLAMA_STOP_AT";
        if (r->total >= (1L << 40)) printf("%s after step %" PRIu64 " (before the time budget's total was known); saved %s\n", what, r->st.step, mp);
        else printf("%s after step %" PRIu64 "/%ld; saved %s\n", what, r->st.step, r->total, mp);
        if (r->ranks > 1) printf("resume with: mpirun -np %d bin/train --resume %s\n", r->ranks, o->ckpt_dir);
        else printf("resume with: bin/train --resume %s\n", o->ckpt_dir);
    }
    run_free(r);
    dist_finalize();
    return 0;
}
