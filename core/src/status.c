/* Status table lookups and the error-record helpers shared by every core module. */
#include "personae/status.h"
#include "error_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *pn_strerror(pn_status code)
{
    switch (code) {
#define PN_STATUS_TEXT_(name, value, text) case name: return text;
        PN_STATUS_TABLE(PN_STATUS_TEXT_)
#undef PN_STATUS_TEXT_
    }
    return "unknown status";
}

const char *pn_status_name(pn_status code)
{
    switch (code) {
#define PN_STATUS_NAME_(name, value, text) case name: return #name;
        PN_STATUS_TABLE(PN_STATUS_NAME_)
#undef PN_STATUS_NAME_
    }
    return "PN_UNKNOWN";
}

void pn_error_clear(pn_error *err)
{
    if (err) {
        err->code = PN_OK;
        err->message[0] = '\0';
    }
}

pn_status pn__fail(pn_error *err, pn_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

pn_status pn__oom(pn_error *err)
{
    if (err) {
        err->code = PN_ENOMEM;
        memcpy(err->message, "out of memory", sizeof "out of memory");
    }
    return PN_ENOMEM;
}
