/*
 * sdnotify: systemd's readiness protocol without libsystemd. Under a unit
 * with Type=notify, systemd passes NOTIFY_SOCKET (a path, or '@' for an
 * abstract socket); the service sends it datagrams such as "READY=1",
 * "RELOADING=1" and "STOPPING=1" (sd_notify(3)). Outside systemd the
 * variable is unset and every call does nothing.
 */
#ifndef INTROEVAL_SDNOTIFY_H
#define INTROEVAL_SDNOTIFY_H

#include <stdbool.h>

/*
 * Sends state ("READY=1", …) to $NOTIFY_SOCKET. True when sent or when
 * there is no socket to send to; false (logged) when sending failed.
 */
bool	sdnotify(const char *state);

#endif
