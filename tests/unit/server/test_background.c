/* srv_run_idle (server/background.c): the work runs on a thread of its own, named, with Linux's
 * idle policy (it yields the processor to every other thread), and the caller, which keeps its own
 * policy, goes on only once the work is done. */
#define _GNU_SOURCE 1 /* SCHED_IDLE, pthread_getname_np */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "srv.h"

typedef struct seen {
    pthread_t thread;
    int policy;
    char name[16];
    int done;
} seen;

static void work(void *arg)
{
    seen *s = arg;
    struct sched_param p;
    s->thread = pthread_self();
    pthread_getschedparam(pthread_self(), &s->policy, &p);
    pthread_getname_np(pthread_self(), s->name, sizeof s->name);
    s->done = 1;
}

static void runs_in_idle_time_and_waits(void **state)
{
    (void)state;
    seen s = {0};
    srv_run_idle("pn-test-idle", work, &s);
    assert_int_equal(s.done, 1);
    assert_false(pthread_equal(s.thread, pthread_self()));
    assert_int_equal(s.policy, SCHED_IDLE);
    assert_string_equal(s.name, "pn-test-idle");
    int policy;
    struct sched_param p;
    pthread_getschedparam(pthread_self(), &policy, &p);
    assert_int_equal(policy, SCHED_OTHER); /* the caller's own is left alone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runs_in_idle_time_and_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
