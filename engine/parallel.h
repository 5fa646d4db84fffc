/* When a loop is worth a parallel region. Every region ends in a barrier
 * that waits for its slowest thread, and on a busy machine a preempted
 * thread costs a scheduler time slice (milliseconds): loops below these
 * sizes (about half a millisecond of work) run on the calling thread. */
#ifndef DSRBENCH_PARALLEL_H
#define DSRBENCH_PARALLEL_H

/* values a memory-bound loop (element-wise, pooling, batch norm) touches */
#define PARALLEL_MIN_VALUES (1L << 18)
/* multiply-adds of a GEMM-bound layer (convolution, fully connected) */
#define PARALLEL_MIN_MACS (1L << 25)

/* A pass over a batch (the convolutions, dense and sparse) is split into
 * tasks of whole images, taken by the threads in a dynamic schedule: at
 * least 8, enough that two threads balance when one is preempted. */
static inline int batch_tasks(int threads)
{
    return 2 * threads > 8 ? 2 * threads : 8;
}

/* images [first, first + count) of task t: the batch split as evenly as it goes */
static inline void batch_task_images(int batch, int tasks, int t, int *first, int *count)
{
    const int base = batch / tasks, extra = batch % tasks;
    *first = t * base + (t < extra ? t : extra);
    *count = base + (t < extra);
}

#endif
