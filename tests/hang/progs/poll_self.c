/* SPDX-License-Identifier: MIT */
/* A hang the shim cannot see: poll() without a timeout on a pipe that
 * nobody will ever write. The supervisor finds it through /proc and names
 * the line by unwinding the thread from outside. */
#include <poll.h>
#include <unistd.h>

int main(void)
{
    int p[2];
    if (pipe(p) != 0)
        return 1;
    struct pollfd f = {.fd = p[0], .events = POLLIN};
    poll(&f, 1, -1);                 /* poll_self.c:14 */
    return 0;
}
