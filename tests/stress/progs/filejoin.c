/* SPDX-License-Identifier: MIT */
/*
 * filejoin.c — the shape of git index-pack: the main thread writes a file,
 * starts two threads that pread() it, joins them, then appends a trailer.
 * Every read is ordered after the first write by pthread_create and
 * before the trailer by pthread_join: correct, no lock needed, no race.
 *     filejoin FILE
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fd;
static long sums[2];

static void *reader(void *arg)
{
    long id = (long)arg;
    unsigned char buf[256];
    for (off_t off = 0; off < 64 * 1024; off += sizeof buf) {
        ssize_t n = pread(fd, buf, sizeof buf, off);
        for (ssize_t i = 0; i < n; i++)
            sums[id] += buf[i];
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 2;
    unsigned char block[4096];
    for (int i = 0; i < 16; i++) {
        memset(block, i + 1, sizeof block);
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block)   /* before the threads */
            return 1;
    }
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reader, (void *)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    if (write(fd, "trailer\n", 8) != 8)                                  /* after the joins */
        return 1;
    close(fd);
    printf("sums %ld %ld\n", sums[0], sums[1]);
    return sums[0] == sums[1] ? 0 : 1;
}
