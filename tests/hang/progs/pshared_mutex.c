/* SPDX-License-Identifier: MIT */
/* Two processes deadlocked on two process-shared pthread mutexes in a
 * shared mapping (AB/BA across processes). */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    pthread_mutex_t *m = mmap(NULL, 2 * sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 1;
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&m[0], &at);
    pthread_mutex_init(&m[1], &at);
    int go[2];
    if (pipe(go) != 0)
        return 1;
    pid_t c = fork();
    if (c == 0) {
        char x;
        pthread_mutex_lock(&m[1]);
        if (read(go[0], &x, 1) != 1)
            _exit(1);
        pthread_mutex_lock(&m[0]);          /* pshared_mutex.c:28 */
        _exit(0);
    }
    pthread_mutex_lock(&m[0]);
    if (write(go[1], "g", 1) != 1)
        return 1;
    usleep(100000);
    pthread_mutex_lock(&m[1]);              /* pshared_mutex.c:35 */
    waitpid(c, NULL, 0);
    return 0;
}
