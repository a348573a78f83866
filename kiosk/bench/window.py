"""The production `kiosk` binary with its Slint window, as a terminal runs it: start-up
to an interactive home screen, and the memory of every process the terminal needs.

    python3 window.py BIN_DIR REPO NUMBERS_FILE

The terminal's outside world runs in processes of its own, as on a real terminal: the
reference central service (`central serve`, enrolled with `kiosk enroll`), the ID card
reader (`idcard simulate` on a pseudo-terminal), the receipt printer (`receipt emulate`
on TCP) and, when pcscd is installed, pcscd for the social security card reader
("auto"). There is no camera (its services show as out of service). The display server
is Xvfb at 1920x1080 without GLX (the kiosk draws with Slint's software renderer and
never uses GL); one more start on an Xvfb with GLX gives the display server's PSS as
Xvfb ships.

Start -> home interactive (median of the cold starts): from spawning the process until
both (a) the home screen's pixels are on the X server (top bar blue, a white tile, tile
title ink; a few pixels of the root window read with XGetImage, polled every 2 ms, the
time taken when the read that saw them returned) and (b) the kiosk logged "the touchscreen is live" (the
session core runs and the window's touches reach it), whichever is later.

Memory: 5 s after (b), VmRSS and PSS (/proc/PID/smaps_rollup) of the kiosk, split by
mapping, and the PSS of Xvfb and pcscd; on the last start also 5 s after a card was
placed on the reader (the session opens, the menu is drawn). Prints a markdown table; writes the figures the
goals are checked on to NUMBERS_FILE as name=value lines.
"""
import ctypes, ctypes.util, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time
from datetime import datetime

bin_dir, repo, numbers_file = sys.argv[1], sys.argv[2], sys.argv[3]
QUICK = os.environ.get("BENCH_QUICK") == "1"
COLD_STARTS = 3 if QUICK else 5
SETTLE_S = 5
BLUE = (10, 77, 162)
MARKER = "the touchscreen is live"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_display():
    n = 97
    while os.path.exists(f"/tmp/.X{n}-lock") or os.path.exists(f"/tmp/.X11-unix/X{n}"):
        n += 1
    return f":{n}"


class Screen:
    """Reads a few pixels of the X server's root window (Xlib through ctypes): cheap enough
    to poll back to back without slowing the server, unlike xwd's whole 8 MiB screen."""

    ZPIXMAP, ALL_PLANES = 2, 0xFFFFFFFF

    def __init__(self, display):
        x = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XGetImage.restype = ctypes.POINTER(XImage)
        x.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
                                ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
        x.XFree.argtypes = [ctypes.c_void_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.x = x
        self.dpy = x.XOpenDisplay(display.encode())
        if not self.dpy:
            raise OSError(f"cannot open display {display}")
        self.root = x.XDefaultRootWindow(self.dpy)

    def region(self, x, y, w, h):
        """(bytes per line, BGRX pixel bytes) of a w x h rectangle at (x, y)."""
        img = self.x.XGetImage(self.dpy, self.root, x, y, w, h, self.ALL_PLANES, self.ZPIXMAP)
        if not img:
            raise OSError("XGetImage failed")
        bpl = img.contents.bytes_per_line
        data = ctypes.string_at(img.contents.data, bpl * h)
        self.x.XFree(img.contents.data)
        self.x.XFree(img)
        return bpl, data

    def pixel(self, x, y):
        _, data = self.region(x, y, 1, 1)
        return data[2], data[1], data[0]

    def home_is_shown(self):
        """The same test as ui/bench/measure.py: the kiosk's home screen at 1920x1080 (top
        bar blue, inside the first tile white, the first tile title's dark ink)."""
        if not close(self.pixel(1000, 40), BLUE) or not close(self.pixel(400, 300), (255, 255, 255)):
            return False
        bpl, data = self.region(70, 370, 330, 50)
        return any(sum(data[y * bpl + x * 4:y * bpl + x * 4 + 3]) < 200 for y in range(0, 50, 3) for x in range(0, 330, 3))

    def close_display(self):
        self.x.XCloseDisplay(self.dpy)


class XImage(ctypes.Structure):
    # The leading fields of Xlib's XImage, up to the ones read here.
    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int), ("xoffset", ctypes.c_int), ("format", ctypes.c_int),
                ("data", ctypes.c_void_p), ("byte_order", ctypes.c_int), ("bitmap_unit", ctypes.c_int),
                ("bitmap_bit_order", ctypes.c_int), ("bitmap_pad", ctypes.c_int), ("depth", ctypes.c_int),
                ("bytes_per_line", ctypes.c_int)]


def close(p, q, tol=12):
    return all(abs(a - b) <= tol for a, b in zip(p, q))


def rollup(pid, key):
    for line in open(f"/proc/{pid}/smaps_rollup"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def by_mapping(pid, program):
    """RSS and PSS in KiB of the process's mappings, grouped by what they are."""
    groups = {}
    name = None
    for line in open(f"/proc/{pid}/smaps"):
        parts = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+$", parts[0]):
            path = parts[5] if len(parts) > 5 else ""
            if path == program:
                name = "the kiosk binary (code, constants)"
            elif path.startswith("/usr/share/fonts/"):
                name = "fonts (mapped files)"
            elif path.startswith("/dev/shm/") or path.startswith("/SYSV"):
                name = "window buffer (shared memory with X)"
            elif ".so" in path:
                name = "shared libraries"
            elif path in ("", "[heap]") or path.startswith("[stack") or path.startswith("[anon"):
                name = "heap, stacks, other anonymous"
            else:
                name = "other mapped files (locale, caches)"
            groups.setdefault(name, [0, 0])
        elif parts[0] == "Rss:":
            groups[name][0] += int(parts[1])
        elif parts[0] == "Pss:":
            groups[name][1] += int(parts[1])
    return groups


def marker_time(log_path):
    """Wall-clock time (seconds) of the kiosk's MARKER line, or None."""
    try:
        text = open(log_path, errors="replace").read()
    except OSError:
        return None
    for line in text.splitlines():
        if MARKER in line:
            stamp = ANSI.sub("", line).split()[0]
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    return None


def comm(pid):
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return ""


def stop(p, sig=signal.SIGINT):
    if p.poll() is not None:
        return
    p.send_signal(sig)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def start_xvfb(glx):
    display = free_display()
    args = ["Xvfb", display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp"] + ([] if glx else ["-extension", "GLX"])
    x = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            return x, display, Screen(display)
        except OSError:
            time.sleep(0.1)
    stop(x, signal.SIGTERM)
    raise SystemExit(f"Xvfb on {display} did not start")


def run_kiosk(work, config, display, screen, i):
    """One cold start: (ms to home drawn, ms to touchscreen live, ms interactive, process)."""
    while screen.home_is_shown():
        time.sleep(0.1)
    log = os.path.join(work, f"kiosk-{i}.log")
    env = dict(os.environ, DISPLAY=display, RUST_LOG="info", NO_COLOR="1")
    env.pop("WAYLAND_DISPLAY", None)
    t0_wall, t0 = time.time(), time.monotonic()
    p = subprocess.Popen([os.path.join(bin_dir, "kiosk"), "--config", config], env=env,
                         stdout=subprocess.DEVNULL, stderr=open(log, "w"), start_new_session=True)
    home = live = None
    while time.monotonic() - t0 < 60:
        if p.poll() is not None:
            raise SystemExit(f"kiosk exited ({p.returncode}): see {log}:\n" + open(log, errors="replace").read()[-2000:])
        if live is None and (w := marker_time(log)) is not None:
            live = (w - t0_wall) * 1000
        if home is None and screen.home_is_shown():
            home = (time.monotonic() - t0) * 1000
        if home is not None and live is not None:
            return home, live, max(home, live), p
        time.sleep(0.002)
    stop(p)
    raise SystemExit(f"kiosk: no interactive home screen within 60 s (home {home}, live {live}); see {log}")


def main():
    work = tempfile.mkdtemp(prefix="kiosk-window-bench-")
    procs = []
    try:
        # The reference central service, and this terminal enrolled with it.
        api = free_port()
        central_dir = os.path.join(work, "central")
        central = subprocess.Popen([os.path.join(bin_dir, "central"), "--data-dir", central_dir, "serve",
                                    "--listen", f"127.0.0.1:{api}"],
                                   stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "central.log"), "w"))
        procs.append(central)
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", api), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        token = subprocess.run([os.path.join(bin_dir, "central"), "--data-dir", central_dir, "token", "create"],
                               capture_output=True, text=True, check=True).stdout.strip()
        # The devices, each in a process of its own.
        reader_link = os.path.join(work, "idcard")
        idcard = subprocess.Popen([os.path.join(bin_dir, "idcard"), "simulate", "--cards",
                                   os.path.join(repo, "simulation/testdata/cards.toml"), "--link", reader_link,
                                   "--place", "none"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        procs.append(idcard)
        printer_port = free_port()
        printer = subprocess.Popen([os.path.join(bin_dir, "receipt"), "emulate", "--tcp", f"127.0.0.1:{printer_port}",
                                    "--out", os.path.join(work, "receipts")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(printer)
        # pcscd: the one running (the system's, or a test suite's), else one of ours.
        pcscd = next((int(p) for p in os.listdir("/proc") if p.isdigit() and comm(p) == "pcscd"), None)
        if pcscd is None and os.path.exists("/usr/sbin/pcscd"):
            pc = subprocess.Popen(["pcscd", "--foreground", "--auto-exit"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            procs.append(pc)
            pcscd = pc.pid
        for _ in range(100):
            if os.path.exists(reader_link):
                break
            time.sleep(0.05)
        config = os.path.join(work, "kiosk.toml")
        with open(config, "w") as f:
            f.write(f'[terminal]\ndata_dir = "{work}/data"\n[central]\nurl = "https://127.0.0.1:{api}"\n'
                    f'[telemetry]\nmetrics_listen = "127.0.0.1:0"\n[devices]\nreader_port = "{reader_link}"\n'
                    f'printer = "tcp://127.0.0.1:{printer_port}"\ncamera = "{work}/no-camera"\n'
                    + ('social_security_reader = "auto"\n' if pcscd else ""))
        subprocess.run([os.path.join(bin_dir, "kiosk"), "--config", config, "enroll", "--token", token,
                        "--ca", os.path.join(central_dir, "ca.pem")], capture_output=True, check=True)

        xvfb, display, screen = start_xvfb(glx=False)
        procs.append(xvfb)
        program = os.path.realpath(os.path.join(bin_dir, "kiosk"))
        starts, mems = [], []
        for i in range(COLD_STARTS):
            home, live, ready, p = run_kiosk(work, config, display, screen, i)
            starts.append((home, live, ready))
            time.sleep(SETTLE_S)
            mems.append((status(p.pid, "VmRSS"), rollup(p.pid, "Pss"), rollup(p.pid, "Pss_Anon"), by_mapping(p.pid, program),
                         rollup(xvfb.pid, "Pss"), rollup(pcscd, "Pss") if pcscd else 0,
                         len(os.listdir(f"/proc/{p.pid}/task"))))
            if i == COLD_STARTS - 1:
                # A citizen's card read: the session opens and the menu is drawn.
                idcard.stdin.write(b"place worker\n")
                idcard.stdin.flush()
                time.sleep(SETTLE_S)
                after_card = (status(p.pid, "VmRSS"), rollup(p.pid, "Pss"))
                idcard.stdin.write(b"remove\n")
                idcard.stdin.flush()
            stop(p)
        # The display server as Xvfb ships (with GLX: Mesa and LLVM are loaded).
        xvfb_glx, display_glx, screen_glx = start_xvfb(glx=True)
        procs.append(xvfb_glx)
        _, _, _, p = run_kiosk(work, config, display_glx, screen_glx, COLD_STARTS)
        time.sleep(SETTLE_S)
        glx_pss = rollup(xvfb_glx.pid, "Pss")
        stop(p)
    finally:
        for p in reversed(procs):
            stop(p, signal.SIGTERM)
        shutil.rmtree(work, ignore_errors=True)

    med = lambda xs: statistics.median(xs)
    home, live, ready = (med(s[k] for s in starts) for k in range(3))
    rss, pss, anon = (med(m[k] for m in mems) / 1024 for k in range(3))
    xvfb_pss, pcscd_pss = med(m[4] for m in mems) / 1024, med(m[5] for m in mems) / 1024
    threads = med(m[6] for m in mems)
    last = mems[len(mems) // 2][3]
    print(f"| kiosk with its window: start -> home screen drawn / touchscreen live / interactive (median of {COLD_STARTS} cold starts) | {home:.0f} / {live:.0f} / {ready:.0f} ms |")
    print(f"| kiosk with its window: resident memory / PSS (of which anonymous), {threads:.0f} threads | {rss:.1f} MiB / {pss:.1f} MiB ({anon:.1f} MiB) |")
    for name, (r, p) in sorted(last.items(), key=lambda kv: -kv[1][1]):
        print(f"| &nbsp;&nbsp;{name}: RSS / PSS | {r / 1024:.1f} / {p / 1024:.1f} MiB |")
    print(f"| kiosk, {SETTLE_S} s after an ID card was read (the menu drawn): resident memory / PSS | {after_card[0] / 1024:.1f} MiB / {after_card[1] / 1024:.1f} MiB |")
    print(f"| display server PSS: Xvfb without GLX / as shipped (GLX: Mesa, LLVM) | {xvfb_pss:.1f} MiB / {glx_pss / 1024:.1f} MiB |")
    if pcscd:
        print(f"| pcscd PSS (social security card reader) | {pcscd_pss:.1f} MiB |")
    total = pss + xvfb_pss + pcscd_pss
    print(f"| whole terminal PSS: kiosk + Xvfb (no GLX){' + pcscd' if pcscd else ''} | {total:.1f} MiB |")
    with open(numbers_file, "a") as f:
        f.write(f"window_rss_mib={rss:.1f}\nwindow_pss_mib={pss:.1f}\nstart_home_ms={ready:.0f}\n"
                f"xvfb_pss_mib={xvfb_pss:.1f}\nterminal_pss_mib={total:.1f}\n")


main()
