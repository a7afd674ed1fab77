/* Priorities of the server's background threads (srv.h). */
#include "srv.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

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
