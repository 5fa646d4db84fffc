/* The dsrbench subcommands; each returns the process exit status. */
#ifndef DSRBENCH_COMMANDS_H
#define DSRBENCH_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_methods(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
