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

#endif
