/* SPDX-License-Identifier: MIT */
/*
 * heap_locks.c — locks inside heap objects, all born at one init site:
 * an array of accounts, each with its own mutex. transfer(a, b) locks a,
 * then b. One thread pays from account 0 to 1, another from 1 to 0, so
 * the two instances are taken in opposite orders: a potential deadlock
 * between two locks that share their creation line but not their address.
 * Staggered so that this run finishes. Clean twin: heap_locks_ordered.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "lg_sample.h"

struct account {
    pthread_mutex_t lock;
    long balance;
};

static struct account *accounts;

static void account_init(struct account *a, long balance)
{
    pthread_mutex_init(&a->lock, NULL);
    a->balance = balance;
}

static void transfer(struct account *from, struct account *to, long amount)
{
    pthread_mutex_lock(&from->lock);
    pthread_mutex_lock(&to->lock); /* LG-EXPECT: lock-order-cycle */
    from->balance -= amount;
    to->balance += amount;
    pthread_mutex_unlock(&to->lock);
    pthread_mutex_unlock(&from->lock);
}

static void *pay_0_to_1(void *arg)
{
    transfer(&accounts[0], &accounts[1], 30);
    step_reach(1);
    step_wait(2);
    return NULL;
}

static void *pay_1_to_0(void *arg)
{
    step_wait(1);
    transfer(&accounts[1], &accounts[0], 20);
    step_reach(2);
    return NULL;
}

int main(void)
{
    enum { NACCOUNTS = 4 };
    accounts = calloc(NACCOUNTS, sizeof *accounts);
    if (!accounts)
        return 1;
    for (int i = 0; i < NACCOUNTS; i++)
        account_init(&accounts[i], 100);

    pthread_t t1, t2;
    pthread_create(&t1, NULL, pay_0_to_1, NULL);
    pthread_create(&t2, NULL, pay_1_to_0, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("heap_locks: %ld %ld\n", accounts[0].balance, accounts[1].balance);
    for (int i = 0; i < NACCOUNTS; i++)
        pthread_mutex_destroy(&accounts[i].lock);
    free(accounts);
    return 0;
}
