/* SPDX-License-Identifier: MIT */
/*
 * condvar_buffer.c — clean: a bounded buffer with one mutex and two
 * condition variables (not_full, not_empty); two producers and two
 * consumers pass 20,000 numbers through 8 slots. Every wait holds the
 * mutex and rechecks its predicate in a loop. LG-CLEAN
 */
#include <pthread.h>
#include <stdio.h>

#define SLOTS 8
#define PER_PRODUCER 10000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static long slots[SLOTS];
static int head, count;

static void put(long v)
{
    pthread_mutex_lock(&lock);
    while (count == SLOTS)
        pthread_cond_wait(&not_full, &lock);
    slots[(head + count) % SLOTS] = v;
    count++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
}

static long get(void)
{
    pthread_mutex_lock(&lock);
    while (count == 0)
        pthread_cond_wait(&not_empty, &lock);
    long v = slots[head];
    head = (head + 1) % SLOTS;
    count--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&lock);
    return v;
}

static void *producer(void *arg)
{
    long base = (long)arg;
    for (long i = 1; i <= PER_PRODUCER; i++)
        put(base + i);
    return NULL;
}

static void *consumer(void *arg)
{
    long *sum = arg;
    for (int i = 0; i < PER_PRODUCER; i++)
        *sum += get();
    return NULL;
}

int main(void)
{
    pthread_t p[2], c[2];
    long sums[2] = { 0, 0 };
    for (int i = 0; i < 2; i++) {
        pthread_create(&p[i], NULL, producer, (void *)(long)(i * 1000000));
        pthread_create(&c[i], NULL, consumer, &sums[i]);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(p[i], NULL);
        pthread_join(c[i], NULL);
    }
    printf("condvar_buffer: sum %ld\n", sums[0] + sums[1]);
    return 0;
}
