/* SPDX-License-Identifier: MIT */
/*
 * sem_overpost.c — a semaphore created with value 1 and used as a lock is
 * released twice by an error path: its value becomes 2 and two threads
 * can now be inside the "critical section" at once.
 * Clean twin: misuse_ok.c.
 */
#include <semaphore.h>
#include <stdio.h>

static sem_t device_lock;
static int device_users;

static int use_device(int fail)
{
    sem_wait(&device_lock);
    device_users++;
    if (fail) {
        sem_post(&device_lock);
        /* falls through to the normal release as well: the bug */
    }
    device_users--;
    sem_post(&device_lock); /* LG-EXPECT: semaphore-overpost */
    return fail ? -1 : 0;
}

int main(void)
{
    int value;
    sem_init(&device_lock, 0, 1);
    use_device(0);
    use_device(1);
    sem_getvalue(&device_lock, &value);
    printf("sem_overpost: value is %d, should be 1\n", value);
    sem_destroy(&device_lock);
    return 0;
}
