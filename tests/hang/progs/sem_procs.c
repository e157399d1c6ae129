/* SPDX-License-Identifier: MIT */
/* Two processes deadlocked on two process-shared semaphores in a shared
 * mapping, taken in opposite orders (AB/BA across processes). */
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    sem_t *s = mmap(NULL, 2 * sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        return 1;
    int go[2];
    if (pipe(go) != 0)
        return 1;
    sem_init(&s[0], 1, 1);
    sem_init(&s[1], 1, 1);
    pid_t c = fork();
    if (c == 0) {
        char x;
        sem_wait(&s[1]);
        if (read(go[0], &x, 1) != 1)        /* wait until the parent holds s[0] */
            _exit(1);
        sem_wait(&s[0]);                    /* sem_procs.c:25 */
        _exit(0);
    }
    sem_wait(&s[0]);
    if (write(go[1], "g", 1) != 1)
        return 1;
    usleep(100000);
    sem_wait(&s[1]);                        /* sem_procs.c:32 */
    waitpid(c, NULL, 0);
    return 0;
}
