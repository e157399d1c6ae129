/* SPDX-License-Identifier: MIT */
/*
 * heap_locks_ordered.c — clean twin of heap_locks.c: transfer() takes the
 * two account locks in a fixed global order (by account number, never by
 * direction of payment), so payments 0 -> 1 and 1 -> 0 both lock account
 * 0 first. The threads run at the same time, many times. LG-CLEAN
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct account {
    int number;
    pthread_mutex_t lock;
    long balance;
};

static struct account *accounts;

static void account_init(struct account *a, int number, long balance)
{
    a->number = number;
    pthread_mutex_init(&a->lock, NULL);
    a->balance = balance;
}

static void transfer(struct account *from, struct account *to, long amount)
{
    struct account *first = from->number < to->number ? from : to;
    struct account *second = from->number < to->number ? to : from;
    pthread_mutex_lock(&first->lock);
    pthread_mutex_lock(&second->lock);
    from->balance -= amount;
    to->balance += amount;
    pthread_mutex_unlock(&second->lock);
    pthread_mutex_unlock(&first->lock);
}

static void *pay_0_to_1(void *arg)
{
    for (int i = 0; i < 1000; i++)
        transfer(&accounts[0], &accounts[1], 3);
    return NULL;
}

static void *pay_1_to_0(void *arg)
{
    for (int i = 0; i < 1000; i++)
        transfer(&accounts[1], &accounts[0], 2);
    return NULL;
}

int main(void)
{
    enum { NACCOUNTS = 4 };
    accounts = calloc(NACCOUNTS, sizeof *accounts);
    if (!accounts)
        return 1;
    for (int i = 0; i < NACCOUNTS; i++)
        account_init(&accounts[i], i, 100);

    pthread_t t1, t2;
    pthread_create(&t1, NULL, pay_0_to_1, NULL);
    pthread_create(&t2, NULL, pay_1_to_0, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("heap_locks_ordered: %ld %ld\n", accounts[0].balance, accounts[1].balance);
    for (int i = 0; i < NACCOUNTS; i++)
        pthread_mutex_destroy(&accounts[i].lock);
    free(accounts);
    return 0;
}
