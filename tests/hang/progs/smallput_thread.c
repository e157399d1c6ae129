/* SPDX-License-Identifier: MIT */
/* Join-before-drain risk, thread form: a thread writes 1000 bytes into a
 * pipe, main joins it and only then reads. It finishes; "drain" as the
 * argument reads first (the clean twin). */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static int p[2];

static void *writer(void *arg)
{
    char buf[1000];
    memset(buf, 'x', sizeof buf);
    return (void *)(long)write(p[1], buf, sizeof buf);   /* smallput_thread.c:15 */
}

int main(int argc, char **argv)
{
    int drain_first = argc > 1 && strcmp(argv[1], "drain") == 0;
    char buf[1000];
    ssize_t got = 0;
    pthread_t t;
    if (pipe(p) != 0)
        return 1;
    pthread_create(&t, NULL, writer, NULL);
    if (drain_first)
        while (got < (ssize_t)sizeof buf && (got += read(p[0], buf, sizeof buf)) > 0)
            ;
    pthread_join(t, NULL);                                /* smallput_thread.c:30 */
    if (!drain_first)
        got = read(p[0], buf, sizeof buf);                /* smallput_thread.c:32 */
    return got == (ssize_t)sizeof buf ? 0 : 1;
}
