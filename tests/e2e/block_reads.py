"""block_reads.py STATE_FILE SECONDS: blocks every reader of a SQLite state
file in WAL mode for SECONDS, as a stuck or slow process would: holds all
of the WAL index's read-mark locks (bytes 123..127 of STATE_FILE-shm, the
locks a reader needs one of). Prints "held" once they are held."""
import fcntl
import os
import sys
import time

fd = os.open(sys.argv[1] + "-shm", os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 5, 123, 0)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
