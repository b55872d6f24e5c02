/* Starts the node under test with its stdin and stdout on pipes and its stderr on /dev/null.
 * Shared by pipebench.c and rtt.c. */
#ifndef EVNODE_BENCH_SPAWN_NODE_H
#define EVNODE_BENCH_SPAWN_NODE_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

/* Runs argv[0] with argv; on success returns its pid and sets *wfd (its stdin) and *rfd (its
 * stdout). SIGPIPE is ignored so a node that dies shows up as a failed write, not a dead driver. */
static pid_t spawn_node(char **argv, int *wfd, int *rfd) {
    signal(SIGPIPE, SIG_IGN);
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) || pipe2(from_child, O_CLOEXEC)) { perror("pipe"); return -1; }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return -1; }
    if (pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    *wfd = to_child[1];
    *rfd = from_child[0];
    return pid;
}

#endif
