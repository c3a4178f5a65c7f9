# lifecycle_backlog.py PORT PID N: connections queued in the kernel, not yet
# taken by the gateway, when SIGTERM comes. PID is stopped (SIGSTOP) by the
# caller; N connections are opened (the kernel completes them into the
# listening sockets' queues) and each sends a request; then SIGTERM and
# SIGCONT. Prints `answered A reset R eof E other O`: every one must be
# answered (a closed listening socket would reset its queue).
import os
import signal
import socket
import sys

port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
os.kill(pid, signal.SIGTERM)
os.kill(pid, signal.SIGCONT)
answered = reset = eof = other = 0
for s in socks:
    s.settimeout(10)
    try:
        d = s.recv(1000)
        if d.startswith(b"HTTP/1.1 200"):
            answered += 1
        elif not d:
            eof += 1
        else:
            other += 1
    except ConnectionResetError:
        reset += 1
    except OSError:
        other += 1
    s.close()
print(f"answered {answered} reset {reset} eof {eof} other {other}")
