#!/usr/bin/python3
"""Helper of bench/experiments/slow_links.sh (experiment 7 of issue 10): four jobs.

  wire     a point-to-point link emulator between the root network namespace and the
           client's: two TUN devices (one in each namespace) and this process between
           them, which gives every packet, in each direction, a serialization time at
           the link's rate (FIFO, as on a serial line) and then a fixed one-way delay.
           The kernel here has no netem qdisc (only tbf, htb, pfifo, clsact), so `tc`
           cannot add delay; this does both rate and delay in one place. The profile
           (rate, one-way delay) is re-read from --profile on SIGUSR1; a line
           "profile ... applied" in the log says it is in force.
  content  writes the origin's files: three pictures like the paper's Figure 2 (a
           cartoon GIF, a large photograph, a computer-rendered GIF) made from the
           photos of Debian's python3-skimage and drawn here, and a page with inline
           images of the paper's typical sizes (tests/data/photos).
  origin   a static HTTP/1.1 origin (keep-alive) for those files.
  analyze  turns the raw measurements (TSV) into the summary tables and the data files
           gnuplot draws.

Needs Debian's /usr/bin/python3 with PIL and numpy for `content` (python3-pil,
python3-numpy); `wire` and `analyze` need only the standard library.
"""

import argparse
import collections
import ctypes
import fcntl
import os
import select
import signal
import statistics
import struct
import sys
import time

# ----------------------------------------------------------------------------- wire

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class Direction:
    """One direction of the link: a FIFO served at `rate` bits/s, then `delay` s."""

    def __init__(self, name, out_fd):
        self.name = name
        self.out_fd = out_fd
        self.queue = collections.deque()  # (deliver_at, packet)
        self.busy_until = 0.0
        self.queued_bytes = 0
        self.packets = self.bytes = self.drops = self.retransmits = 0
        self.seen = set()  # (flow, seq) of TCP segments with data: a repeat is a retransmission

    def offer(self, now, pkt, rate, delay, overhead, limit, trace=None):
        if trace:
            trace.write(f"{now:.6f}\t{self.name}\t{len(pkt)}\t{tcp_summary(pkt)}\n")
        if self.queued_bytes + len(pkt) > limit:
            self.drops += 1
            return
        key = tcp_data_key(pkt)
        if key is not None:
            if key in self.seen:
                self.retransmits += 1
            self.seen.add(key)
        start = max(now, self.busy_until)
        self.busy_until = start + (len(pkt) + overhead) * 8.0 / rate
        self.queue.append((self.busy_until + delay, pkt))
        self.queued_bytes += len(pkt)
        self.packets += 1
        self.bytes += len(pkt)

    def deliver(self, now):
        while self.queue and self.queue[0][0] <= now:
            _, pkt = self.queue.popleft()
            self.queued_bytes -= len(pkt)
            try:
                os.write(self.out_fd, pkt)
            except OSError:  # full, or the device not up yet (EIO)
                self.drops += 1

    def next_due(self):
        return self.queue[0][0] if self.queue else None


def tcp_summary(pkt):
    """ports, flags, seq, ack and payload length of an IPv4 TCP packet (for --trace)."""
    if len(pkt) < 40 or pkt[0] >> 4 != 4 or pkt[9] != 6:
        return "-"
    ihl = (pkt[0] & 15) * 4
    sport, dport, seq, ack, off = struct.unpack("!HHIIB", pkt[ihl:ihl + 13])
    flags = pkt[ihl + 13]
    payload = len(pkt) - ihl - (off >> 4) * 4
    names = "".join(c for c, bit in zip("FSRPAU", range(6)) if flags >> bit & 1)
    return f"{sport}>{dport}\t{names}\tseq={seq}\tack={ack}\tlen={payload}"


def tcp_data_key(pkt):
    """(addresses, ports, seq) of an IPv4 TCP segment that carries data; None otherwise."""
    if len(pkt) < 40 or pkt[0] >> 4 != 4 or pkt[9] != 6:
        return None
    ihl = (pkt[0] & 15) * 4
    off = pkt[ihl + 12] >> 4
    if len(pkt) - ihl - off * 4 <= 0:
        return None
    return (pkt[12:20], pkt[ihl:ihl + 4], pkt[ihl + 4:ihl + 8])


def read_profile(path):
    with open(path) as f:
        fields = f.read().split()
    name, rate, delay_ms = fields[0], float(fields[1]), float(fields[2])
    if rate <= 0 or delay_ms < 0:
        raise ValueError(f"bad profile {fields}")
    return name, rate, delay_ms / 1000.0


def cmd_wire(a):
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    client = os.open(f"/var/run/netns/{a.ns}", os.O_RDONLY)
    root_fd = open_tun(a.root_dev)
    setns(client)
    ns_fd = open_tun(a.ns_dev)
    setns(home)
    os.close(home)
    os.close(client)
    down = Direction("down", ns_fd)  # root -> client (the answers)
    up = Direction("up", root_fd)  # client -> root (the requests)
    by_fd = {root_fd: down, ns_fd: up}
    trace = open(a.trace, "w", buffering=1) if a.trace else None
    name, rate, delay = read_profile(a.profile)
    reload = [False]
    stop = [False]
    signal.signal(signal.SIGUSR1, lambda *_: reload.__setitem__(0, True))
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))
    print(f"ready {a.root_dev} <-> {a.ns} {a.ns_dev}", flush=True)
    print(f"profile {name} rate={rate:.0f}bit/s delay={delay * 1000:.1f}ms applied", flush=True)

    def report():
        for d in (down, up):
            print(f"  {name} {d.name}: {d.packets} packets, {d.bytes} bytes, {d.drops} dropped, "
                  f"{d.retransmits} TCP segments sent again", flush=True)
            d.packets = d.bytes = d.drops = d.retransmits = 0
            d.seen.clear()

    while not stop[0]:
        if reload[0]:
            reload[0] = False
            report()
            name, rate, delay = read_profile(a.profile)
            print(f"profile {name} rate={rate:.0f}bit/s delay={delay * 1000:.1f}ms applied", flush=True)
        now = time.monotonic()
        down.deliver(now)
        up.deliver(now)
        dues = [t for t in (down.next_due(), up.next_due()) if t is not None]
        timeout = max(0.0, min(dues) - time.monotonic()) if dues else 1.0
        try:
            ready, _, _ = select.select([root_fd, ns_fd], [], [], timeout)
        except InterruptedError:
            continue
        for fd in ready:
            d = by_fd[fd]
            while True:
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                d.offer(time.monotonic(), pkt, rate, delay, a.overhead, a.queue_bytes, trace)
    report()


# -------------------------------------------------------------------------- content


def cmd_content(a):
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    out = a.out
    os.makedirs(out, exist_ok=True)
    sk = a.skimage
    made = []

    def save(img, name, **kw):
        path = os.path.join(out, name)
        img.save(path, **kw)
        made.append((name, os.path.getsize(path), img.size))

    # 1. A large photograph (the paper's middle group): the astronaut portrait, JPEG q75.
    photo = Image.open(os.path.join(sk, "astronaut.png")).convert("RGB")
    photo = photo.resize((a.photo_side, a.photo_side), Image.LANCZOS)
    save(photo, "portrait.jpg", quality=75, optimize=True)

    # 2. A cartoon (the paper's top group: "a cartoon found on a popular Web page"):
    #    a three-panel strip of flat colours, black outlines and lettering, 16 colours.
    w, h = a.cartoon_size
    strip = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(strip)
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", max(10, h // 18))
    except OSError:
        font = ImageFont.load_default()
    pw = w // 3
    sky = [(120, 180, 230), (250, 200, 120), (40, 40, 90)]
    words = ["THE PROXY IS SLOW?", "NO: IT DISTILLS!", "14.4K FEELS FAST!"]
    for i in range(3):
        x0 = i * pw + 6
        x1 = (i + 1) * pw - 6
        d.rectangle([x0, 6, x1, h - 6], fill=sky[i], outline="black", width=4)
        d.rectangle([x0, int(h * 0.75), x1, h - 6], fill=(90, 160, 70), outline="black", width=3)
        cx = (x0 + x1) // 2 + (i - 1) * pw // 8
        # a figure: head, body, arms, legs
        d.ellipse([cx - h // 10, int(h * 0.28), cx + h // 10, int(h * 0.48)], fill=(255, 220, 180), outline="black", width=3)
        d.rectangle([cx - h // 12, int(h * 0.48), cx + h // 12, int(h * 0.68)], fill=(200, 40, 40), outline="black", width=3)
        d.line([cx - h // 12, int(h * 0.52), cx - h // 5, int(h * 0.60 - i * h * 0.06)], fill="black", width=4)
        d.line([cx + h // 12, int(h * 0.52), cx + h // 5, int(h * 0.44 + i * h * 0.04)], fill="black", width=4)
        d.line([cx - h // 20, int(h * 0.68), cx - h // 12, int(h * 0.80)], fill="black", width=4)
        d.line([cx + h // 20, int(h * 0.68), cx + h // 12, int(h * 0.80)], fill="black", width=4)
        d.ellipse([cx - h // 25, int(h * 0.34), cx - h // 60, int(h * 0.37)], fill="black")
        d.ellipse([cx + h // 60, int(h * 0.34), cx + h // 25, int(h * 0.37)], fill="black")
        d.arc([cx - h // 20, int(h * 0.36), cx + h // 20, int(h * 0.44)], 20, 160, fill="black", width=3)
        # a speech balloon
        bx0, by0, bx1, by1 = x0 + 10, 14, x1 - 10, int(h * 0.24)
        d.rounded_rectangle([bx0, by0, bx1, by1], radius=14, fill="white", outline="black", width=3)
        d.polygon([(cx - 10, by1 - 2), (cx + 10, by1 - 2), (cx, int(h * 0.29))], fill="white", outline="black")
        d.text(((bx0 + bx1) // 2, (by0 + by1) // 2), words[i], fill="black", font=font, anchor="mm")
        # scenery: a sun or moon, a house, a tree
        d.ellipse([x1 - h // 6, int(h * 0.30), x1 - h // 16, int(h * 0.40)], fill=(255, 230, 60) if i < 2 else (230, 230, 230), outline="black", width=2)
        hx = x0 + 18
        d.rectangle([hx, int(h * 0.55), hx + h // 6, int(h * 0.75)], fill=(230, 200, 150), outline="black", width=3)
        d.polygon([(hx - 6, int(h * 0.55)), (hx + h // 12, int(h * 0.45)), (hx + h // 6 + 6, int(h * 0.55))], fill=(160, 50, 40), outline="black")
        d.rectangle([hx + h // 16, int(h * 0.65), hx + h // 9, int(h * 0.75)], fill=(110, 70, 40), outline="black", width=2)
    cartoon = strip.quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    save(cartoon, "cartoon.gif", optimize=True)

    # 3. A computer-rendered image (the paper's bottom group): ray-cast shaded spheres on
    #    a checkered floor under a sky gradient, 256 colours with Floyd-Steinberg dither,
    #    as a rendering was put on the Web in 1997.
    np.seterr(all="ignore")  # rays that miss give inf and nan, masked below
    rw, rh = a.render_size
    ys, xs = np.mgrid[0:rh, 0:rw].astype(np.float64)
    dx = (xs - rw / 2) / rh
    dy = -(ys - rh / 2) / rh
    dz = np.ones_like(dx) * 1.2
    n = np.sqrt(dx * dx + dy * dy + dz * dz)
    dx, dy, dz = dx / n, dy / n, dz / n
    sky = np.stack([0.35 + 0.4 * dy, 0.55 + 0.35 * dy, 0.95 + 0.0 * dy], axis=-1)
    img = np.clip(sky, 0, 1)
    depth = np.full(dx.shape, np.inf)
    light = np.array([-0.5, 0.8, -0.4])
    light /= np.linalg.norm(light)
    cam_y = 0.6
    # floor y = 0
    t = np.where(dy < -1e-6, -cam_y / dy, np.inf)
    fx, fz = t * dx, t * dz
    check = ((np.floor(fx * 2) + np.floor(fz * 2)) % 2 == 0)
    floor = np.where(check[..., None], np.array([0.85, 0.85, 0.8]), np.array([0.25, 0.3, 0.45]))
    fade = np.clip(1.0 - t / 30.0, 0.2, 1.0)[..., None]
    hit = np.isfinite(t)
    img = np.where(hit[..., None], floor * fade + img * (1 - fade), img)
    depth = np.where(hit, t, depth)
    spheres = [((-0.9, 0.45, 3.2), 0.45, (0.9, 0.2, 0.15)), ((0.2, 0.6, 4.0), 0.6, (0.2, 0.7, 0.3)),
               ((1.2, 0.35, 2.8), 0.35, (0.95, 0.8, 0.2)), ((0.0, 0.25, 2.2), 0.25, (0.3, 0.4, 0.95))]
    for (cx, cy, cz), r, col in spheres:
        ox, oy, oz = 0.0 - cx, cam_y - cy, 0.0 - cz
        b = ox * dx + oy * dy + oz * dz
        c = ox * ox + oy * oy + oz * oz - r * r
        disc = b * b - c
        ok = disc > 0
        ts = np.where(ok, -b - np.sqrt(np.where(ok, disc, 0)), np.inf)
        front = ok & (ts > 0) & (ts < depth)
        px, py, pz = ts * dx, cam_y + ts * dy, ts * dz
        nx, ny, nz = (px - cx) / r, (py - cy) / r, (pz - cz) / r
        diff = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)
        # specular (Blinn): half vector between the light and the eye
        hx, hy, hz = light[0] - dx, light[1] - dy, light[2] - dz
        hn = np.sqrt(hx * hx + hy * hy + hz * hz)
        spec = np.clip((nx * hx + ny * hy + nz * hz) / hn, 0, 1) ** 40
        shade = np.array(col) * (0.15 + 0.85 * diff[..., None]) + spec[..., None] * 0.9
        img = np.where(front[..., None], np.clip(shade, 0, 1), img)
        depth = np.where(front, ts, depth)
        # its soft shadow on the floor
        sx = fx - cx + cy * light[0] / light[1]
        sz = fz - cz + cy * light[2] / light[1]
        sd = np.sqrt(sx * sx + sz * sz)
        sh = np.clip((sd - r * 0.6) / (r * 0.8), 0.35, 1.0)
        on_floor = hit & (depth == t)
        img = np.where(on_floor[..., None], img * sh[..., None], img)
    render = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8), "RGB")
    render = render.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    save(render, "rendered.gif", optimize=True)

    # 4. A page with inline images of the paper's typical sizes (§4.1, Figure 5: the
    #    average byte is part of a 3-12 KB object): the four ~10 KB JPEG photos of
    #    tests/data/photos, a small cartoon banner GIF, two icons under 1 KB (which
    #    TranSend passes as they are), and about 5 KB of text.
    import shutil

    for f in ("astronaut", "chelsea", "coffee", "hubble"):
        shutil.copy(os.path.join(a.photos, f + ".jpg"), os.path.join(out, "p-" + f + ".jpg"))
        made.append(("p-" + f + ".jpg", os.path.getsize(os.path.join(out, "p-" + f + ".jpg")), Image.open(os.path.join(out, "p-" + f + ".jpg")).size))
    banner = strip.resize((w // 2, h // 2), Image.LANCZOS).quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    save(banner, "p-banner.gif", optimize=True)
    for i, col in enumerate([(200, 30, 30), (30, 120, 200)]):
        icon = Image.new("RGB", (16, 16), "white")
        ImageDraw.Draw(icon).ellipse([2, 2, 13, 13], fill=col, outline="black")
        save(icon.quantize(colors=4), f"p-icon{i}.gif")
    para = ("Distillation is highly lossy, real-time, datatype-specific compression that "
            "preserves most of the semantic content of a document. The proxy fetches the "
            "original over its fast link, distills it, and sends the client a small "
            "representation it can refine on demand. ")
    body = []
    body.append('<h1><img src="/p-icon0.gif" width="16" height="16" alt=""> Slow links, distilled</h1>')
    body.append('<p><img src="/p-banner.gif" alt="banner"></p>')
    for i, f in enumerate(("astronaut", "chelsea", "coffee", "hubble")):
        body.append(f'<h2><img src="/p-icon{i % 2}.gif" width="16" height="16" alt=""> Section {i + 1}</h2>')
        body.append(f'<p><img src="/p-{f}.jpg" alt="{f}" align="right">{para * 2}</p>')
    html = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>A page of the paper's sizes</title></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    with open(os.path.join(out, "page.html"), "w") as f:
        f.write(html)
    made.append(("page.html", len(html.encode()), None))
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.write("#file\tbytes\twidth\theight\n")
        for name, size, dims in made:
            f.write(f"{name}\t{size}\t{dims[0] if dims else '-'}\t{dims[1] if dims else '-'}\n")
    for name, size, dims in made:
        print(f"  {name:16s} {size:8d} bytes  {dims[0] if dims else ''}x{dims[1] if dims else ''}")


# --------------------------------------------------------------------------- origin


def cmd_origin(a):
    """A static origin with HTTP/1.1 keep-alive (python's http.server defaults to 1.0)."""
    import functools
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle holds the
        # body until the header segment is acknowledged, and a delayed ACK makes that
        # 40 ms (on loopback, whose MSS is 64 KB, the whole body waits).
        disable_nagle_algorithm = "NAGLE" not in os.environ

        def log_message(self, *args):
            pass

    handler = functools.partial(Handler, directory=a.dir)
    server = http.server.ThreadingHTTPServer((a.bind, a.port), handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"origin http://{a.bind}:{a.port}/ serving {a.dir}", flush=True)
    server.serve_forever()


# -------------------------------------------------------------------------- analyze

# What each level asks of TranSend (the client's preferences; docs/experiments/slow_links.md).
LEVELS = ["direct", "off", "q75", "default", "w160", "pda"]
LEVEL_LABEL = {
    "direct": "direct, no proxy",
    "off": "TranSend, distill off",
    "q75": "1/2 size, q75",
    "default": "1/2 size, q25 (default)",
    "w160": "<=160 px, q25",
    "pda": "<=80 px, q10, gray",
}
IMAGES = ["cartoon.gif", "portrait.jpg", "rendered.gif"]
IMAGE_LABEL = {"cartoon.gif": "cartoon", "portrait.jpg": "portrait", "rendered.gif": "rendered"}


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def cmd_analyze(a):
    rows = []
    with open(a.raw) as f:
        header = None
        for line in f:
            if line.startswith("#phase"):
                header = line[1:].rstrip("\n").split("\t")
                continue
            if line.startswith("#"):
                continue
            if not line.strip():
                continue
            rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    for r in rows:
        for k in ("bytes", "ttfb_s", "total_s"):
            r[k] = float(r[k])
    bad = [r for r in rows if r["code"] != "200" or r.get("approx", "-") not in ("", "-")]
    ok = [r for r in rows if r not in bad]
    links = []
    for r in ok:
        if r["phase"] == "links" and r["link"] not in links:
            links.append(r["link"])
    out = a.out

    # Distillation time: on the LAN, the median time to the first byte of the answer at
    # a level minus the same with distillation off (everything else is the same path).
    dist = {}
    objects = []
    for r in ok:
        if r["phase"] == "distill" and r["object"] not in objects:
            objects.append(r["object"])
    with open(f"{out}_distill.tsv", "w") as f:
        f.write("#object\tlevel\tn\tbytes\tttfb_median_ms\tttfb_min_ms\tttfb_max_ms\toff_ttfb_median_ms\tdistill_ms\n")
        for obj in objects:
            off = [r["ttfb_s"] for r in ok if r["phase"] == "distill" and r["object"] == obj and r["level"] == "off"]
            for lv in LEVELS[1:]:
                t = [r["ttfb_s"] for r in ok if r["phase"] == "distill" and r["object"] == obj and r["level"] == lv]
                b = [r["bytes"] for r in ok if r["phase"] == "distill" and r["object"] == obj and r["level"] == lv]
                if not t:
                    continue
                d = 0.0 if lv == "off" else max(0.0, median(t) - median(off))
                dist[(obj, lv)] = d
                f.write(f"{obj}\t{lv}\t{len(t)}\t{median(b):.0f}\t{median(t) * 1e3:.2f}\t{min(t) * 1e3:.2f}\t{max(t) * 1e3:.2f}\t"
                        f"{median(off) * 1e3:.2f}\t{d * 1e3:.2f}\n")

    # Every link, object and level: median end-to-end time, split into distillation
    # (from the LAN measurement above) and transmission (the rest).
    summ = {}
    with open(f"{out}_summary.tsv", "w") as f:
        f.write("#link\tobject\tlevel\tn\tbytes\ttotal_median_s\ttotal_min_s\ttotal_max_s\tdistill_s\ttransmit_s\tspeedup_vs_direct\n")
        for link in links:
            objs = []
            for r in ok:
                if r["phase"] == "links" and r["link"] == link and r["object"] not in objs:
                    objs.append(r["object"])
            for obj in objs:
                direct = [r["total_s"] for r in ok if r["phase"] == "links" and r["link"] == link and r["object"] == obj and r["level"] == "direct"]
                for lv in LEVELS:
                    sel = [r for r in ok if r["phase"] == "links" and r["link"] == link and r["object"] == obj and r["level"] == lv]
                    if not sel:
                        continue
                    tot = [r["total_s"] for r in sel]
                    d = dist.get((obj, lv), 0.0) if obj != "page" else 0.0
                    m = median(tot)
                    sp = median(direct) / m if direct else float("nan")
                    summ[(link, obj, lv)] = (median([r["bytes"] for r in sel]), m, d, sp)
                    f.write(f"{link}\t{obj}\t{lv}\t{len(tot)}\t{median([r['bytes'] for r in sel]):.0f}\t{m:.4f}\t{min(tot):.4f}\t{max(tot):.4f}\t"
                            f"{d:.4f}\t{max(0.0, m - d):.4f}\t{sp:.2f}\n")

    # Bars for gnuplot: one block per link (index i), each bar: y, size label, distill, total.
    with open(f"{out}_bars.dat", "w") as f:
        for i, link in enumerate(links):
            f.write(f"# index {i}: {link}\n#y\tdistill_s\ttotal_s\tlabel\n")
            y = 0
            for obj in reversed(IMAGES):
                for lv in reversed(LEVELS):
                    if (link, obj, lv) not in summ:
                        continue
                    b, m, d, sp = summ[(link, obj, lv)]
                    f.write(f"{y}\t{d:.4f}\t{m:.4f}\t\"{IMAGE_LABEL[obj]} {b / 1024:.1f} KB: {LEVEL_LABEL[lv]}\"\n")
                    y += 1
                y += 0.8
            f.write("\n\n")
    # Speed-ups at TranSend's default level (and the PDA level) per link.
    with open(f"{out}_speedup.tsv", "w") as f:
        f.write("#link\t" + "\t".join(IMAGES) + "\tpage\tpage_pda\n")
        for link in links:
            vals = [summ.get((link, o, "default"), (0, 0, 0, float("nan")))[3] for o in IMAGES + ["page"]]
            vals.append(summ.get((link, "page", "pda"), (0, 0, 0, float("nan")))[3])
            f.write(link + "\t" + "\t".join(f"{v:.2f}" for v in vals) + "\n")

    # A readable digest for the log (and the write-up).
    print(f"{len(ok)} fetches used, {len(bad)} left out (not 200 or an approximate answer)")
    for r in bad[:10]:
        print("  left out:", r)
    print("\nDistillation time on the LAN (ms, median TTFB at the level minus with distillation off):")
    print("  object          " + "".join(f"{lv:>10s}" for lv in LEVELS[2:]))
    for obj in objects:
        print(f"  {obj:15s} " + "".join(f"{dist.get((obj, lv), float('nan')) * 1e3:10.1f}" for lv in LEVELS[2:]))
    for link in links:
        print(f"\n{link}: median end-to-end seconds (bytes) [speed-up over direct]")
        for obj in IMAGES + ["page"]:
            cells = []
            for lv in LEVELS:
                if (link, obj, lv) in summ:
                    b, m, d, sp = summ[(link, obj, lv)]
                    cells.append(f"{lv}={m:.2f}s({b / 1024:.1f}K)[{sp:.1f}x]")
            print(f"  {obj:13s} " + "  ".join(cells))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("wire")
    w.add_argument("--ns", required=True)
    w.add_argument("--root-dev", required=True)
    w.add_argument("--ns-dev", required=True)
    w.add_argument("--profile", required=True, help="file: NAME RATE_BIT_PER_S ONE_WAY_DELAY_MS")
    w.add_argument("--overhead", type=int, default=0, help="framing bytes added to each packet's length")
    w.add_argument("--queue-bytes", type=int, default=1 << 20, help="bytes queued per direction before tail drop")
    w.add_argument("--trace", help="file: one line per packet as it enters the link (time, direction, TCP summary)")
    c = sub.add_parser("content")
    c.add_argument("--out", required=True)
    c.add_argument("--skimage", required=True, help="skimage/data directory")
    c.add_argument("--photos", required=True, help="tests/data/photos")
    c.add_argument("--photo-side", type=int, default=400)
    c.add_argument("--cartoon-size", type=lambda s: tuple(int(x) for x in s.split("x")), default=(720, 240))
    c.add_argument("--render-size", type=lambda s: tuple(int(x) for x in s.split("x")), default=(320, 240))
    o = sub.add_parser("origin")
    o.add_argument("--bind", required=True)
    o.add_argument("--port", type=int, required=True)
    o.add_argument("--dir", required=True)
    an = sub.add_parser("analyze")
    an.add_argument("--raw", required=True)
    an.add_argument("--out", required=True, help="prefix of the files written: PREFIX_summary.tsv, ...")
    a = p.parse_args()
    {"wire": cmd_wire, "content": cmd_content, "origin": cmd_origin, "analyze": cmd_analyze}[a.cmd](a)


if __name__ == "__main__":
    main()
