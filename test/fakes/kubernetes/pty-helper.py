# Runs a command on a new pseudo-terminal for `exec -t` (Node has no pty of its own): relays
# stdin/stdout to the pty master, reads "COLS ROWS" lines on fd 3 and applies them (TIOCSWINSZ,
# which also sends SIGWINCH), exits with the command's status (128+N when killed by signal N).
import fcntl, os, pty, select, struct, sys, termios

pid, master = pty.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    except OSError as e:
        sys.stderr.write("exec %s: %s\r\n" % (sys.argv[1], e.strerror))
        os._exit(127)

ctl = 3
inputs = [0, master, ctl]
ctl_buf = b""
while master in inputs:
    try:
        ready, _, _ = select.select(inputs, [], [])
    except InterruptedError:
        continue
    for fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if fd == master:
            if not data:
                inputs.remove(master)
            else:
                os.write(1, data)
        elif fd == 0:
            if not data:
                inputs.remove(0)
                os.write(master, b"\x04")
            else:
                os.write(master, data)
        else:
            if not data:
                inputs.remove(ctl)
                continue
            ctl_buf += data
            while b"\n" in ctl_buf:
                line, ctl_buf = ctl_buf.split(b"\n", 1)
                try:
                    cols, rows = (int(x) for x in line.split())
                    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                except (ValueError, OSError):
                    pass

_, status = os.waitpid(pid, 0)
if os.WIFSIGNALED(status):
    sys.exit(128 + os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
