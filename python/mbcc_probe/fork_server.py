"""Workers forked from one process that has imported MXNet already (``python -m
mbcc_probe.worker --fork-server``), so that a pool's second worker, and every worker that
replaces a crashed one, starts in milliseconds instead of the second an import takes.

Protocol with the pool (src/runners/pool.cpp), over the Unix socket that is the server's fd 0:

    server -> pool   its hello line (the worker's hello, or the error hello when the import
                     failed, after which the server exits)
    pool -> server   one byte carrying three descriptors (SCM_RIGHTS): the new worker's
                     stdin, stdout and stderr
    server -> pool   the worker's process id and a newline

Each worker is forked twice over so that it is not the server's child: the pool's process is a
child subreaper, so it adopts the worker and waits for it like a worker it started itself. The
worker has a process group of its own before its id is sent. End of file on the socket ends the
server. Standard library only.
"""

import array
import json
import os
import socket
import sys
import traceback

DESCRIPTORS = 3  # stdin, stdout, stderr


def say(hello, control=None):
    """Sends the hello line on the control socket."""
    control = control or socket.socket(fileno=0)
    control.sendall((json.dumps(hello) + "\n").encode())


def serve_forks(hello, run_worker):
    """Says `hello` on the control socket, then forks one worker per request until the socket
    closes. In each worker, run_worker() serves checks on the new stdin and stdout and returns
    the exit status. Returns the server's own exit status."""
    control = socket.socket(fileno=0)
    say(hello, control)
    while True:
        fds = _receive_descriptors(control)
        if fds is None:
            return 0
        pid = _fork_worker(control, fds, run_worker)
        control.sendall(b"%d\n" % pid)


def _receive_descriptors(control):
    """The three descriptors of the next request, or None at end of file."""
    size = array.array("i").itemsize * DESCRIPTORS
    data, ancillary, _, _ = control.recvmsg(1, socket.CMSG_SPACE(size))
    if not data:
        return None
    fds = array.array("i")
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    if len(fds) != DESCRIPTORS:
        for fd in fds:
            os.close(fd)
        raise SystemExit("fork server: a request carried %d descriptors, not %d" % (len(fds), DESCRIPTORS))
    return list(fds)


def _fork_worker(control, fds, run_worker):
    """Forks a worker on `fds` and returns its process id once its parent is gone."""
    sys.stdout.flush()
    sys.stderr.flush()
    reply_read, reply_write = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(reply_read)
            worker = os.fork()
            if worker == 0:
                os.close(reply_write)
                _become_worker(control, fds, run_worker)
            try:
                os.setpgid(worker, worker)  # the worker does it too; whichever comes first
            except OSError:
                pass
            os.write(reply_write, b"%d" % worker)
        finally:
            os._exit(0)
    os.close(reply_write)
    for fd in fds:
        os.close(fd)
    reply = b""
    while True:
        chunk = os.read(reply_read, 32)
        if not chunk:
            break
        reply += chunk
    os.close(reply_read)
    os.waitpid(middle, 0)
    if not reply.isdigit():
        raise SystemExit("fork server: no worker was forked")
    return int(reply)


def _become_worker(control, fds, run_worker):
    """In the forked worker: takes `fds` as stdin, stdout and stderr, serves, and exits."""
    status = 1
    try:
        os.setpgid(0, 0)
        control.detach()  # fd 0 is about to become the worker's stdin
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        status = run_worker()
    except BaseException:  # noqa: whatever it is, it must not return into the server's loop
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
