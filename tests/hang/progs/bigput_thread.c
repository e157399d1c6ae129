/* SPDX-License-Identifier: MIT */
/* Join-before-drain, thread form: a thread writes 1 MiB into a pipe, main
 * joins it before reading. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define BIG (1024 * 1024)
static int p[2];

static void *writer(void *arg)
{
    char *buf = calloc(1, BIG);
    ssize_t n = write(p[1], buf, BIG);     /* bigput_thread.c:14 */
    free(buf);
    return (void *)n;
}

int main(void)
{
    pthread_t t;
    if (pipe(p) != 0)
        return 1;
    pthread_create(&t, NULL, writer, NULL);
    pthread_join(t, NULL);                 /* bigput_thread.c:25 */
    char buf[4096];
    while (read(p[0], buf, sizeof buf) > 0)
        ;
    return 0;
}
