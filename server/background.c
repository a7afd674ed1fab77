/* Priorities and clocks of the server's background threads (srv.h). */
#define _GNU_SOURCE 1 /* SCHED_IDLE */
#include "srv.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void srv_thread_name(const char *name)
{
    /* shown by top -H, ps -L and perf; Linux keeps at most 15 characters */
    (void)prctl(PR_SET_NAME, name, 0, 0, 0);
}

void srv_background_thread(int delta)
{
    /* on Linux a thread is a schedulable task of its own: PRIO_PROCESS with its id sets the
     * priority of this thread only; failing is harmless (it just keeps the normal priority) */
    pid_t tid = (pid_t)syscall(SYS_gettid);
    errno = 0;
    int now = getpriority(PRIO_PROCESS, (id_t)tid);
    if (errno == 0)
        (void)setpriority(PRIO_PROCESS, (id_t)tid, now + delta);
}

typedef struct idle_job {
    const char *name;
    void (*fn)(void *);
    void *arg;
} idle_job;

static void *idle_run(void *p)
{
    idle_job *j = p;
    srv_thread_name(j->name);
    struct sched_param none = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &none) != 0)
        srv_background_thread(19);
    j->fn(j->arg);
    return NULL;
}

void srv_run_idle(const char *name, void (*fn)(void *), void *arg)
{
    idle_job j = {name, fn, arg};
    pthread_t t;
    if (pthread_create(&t, NULL, idle_run, &j) == 0)
        pthread_join(t, NULL);
    else
        fn(arg);
}

void srv_store_changed(srv_config *cfg, sqlite3 *db, int64_t account, const srv_trained *trained)
{
    if (cfg && cfg->store_changed)
        cfg->store_changed(cfg->sync_ctx, db, account, trained);
    else if (cfg)
        atomic_fetch_add(&cfg->generation, 1);
}

void srv_sync_events(srv_config *cfg, int urgent)
{
    if (cfg && cfg->sync_events)
        cfg->sync_events(cfg->sync_ctx, urgent);
}

struct timespec srv_deadline_ms(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    long long ns = (long long)t.tv_nsec + (long long)(ms % 1000) * 1000000LL;
    t.tv_sec += ms / 1000 + (time_t)(ns / 1000000000LL);
    t.tv_nsec = (long)(ns % 1000000000LL);
    return t;
}

int64_t srv_monotonic_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}
