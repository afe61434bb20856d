#!/usr/bin/env python3
"""Writes the app and tray icons under icons/ (RGBA PNG, stdlib only; re-run after changing a colour).

App icon: two linked rings ("tsunagi", connection) on indigo. Tray icons: the same rings on a disc whose
colour is the presence state, so the state reads at 22 px in a panel; the ringing icon adds a white halo.
"""
import math, os, struct, zlib

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "icons")

def png(path, size, pixel):
    ss = 4  # supersampling for anti-aliased edges
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(ss):
                for sx in range(ss):
                    u = (x + (sx + 0.5) / ss) / size
                    v = (y + (sy + 0.5) / ss) / size
                    r, g, b, a = pixel(u, v)
                    acc[0] += r * a; acc[1] += g * a; acc[2] += b * a; acc[3] += a
            n = ss * ss
            a = acc[3] / n
            if a > 0:
                row += bytes([round(acc[0] / acc[3]), round(acc[1] / acc[3]), round(acc[2] / acc[3]), round(a * 255)])
            else:
                row += bytes(4)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)))
        f.write(chunk(b"IDAT", raw))
        f.write(chunk(b"IEND", b""))

def icon(disc_rgb, slash=False, halo=False):
    def pixel(u, v):
        dx, dy = u - 0.5, v - 0.5
        d = math.hypot(dx, dy)
        if d > 0.47:
            return (0, 0, 0, 0)
        white = (255, 255, 255, 1.0)
        # two linked rings
        for cx in (0.39, 0.61):
            rd = math.hypot(u - cx, v - 0.5)
            if 0.11 <= rd <= 0.17:
                return white
        if slash and abs(dx + dy) < 0.04 and d < 0.40:
            return white
        if halo and 0.36 <= d <= 0.41:
            return white
        return (*disc_rgb, 1.0)
    return pixel

def main():
    os.makedirs(ROOT, exist_ok=True)
    app = icon((63, 81, 181))
    for size, name in ((32, "32x32.png"), (128, "128x128.png"), (256, "128x128@2x.png"), (512, "icon.png")):
        png(os.path.join(ROOT, name), size, app)
    tray = {
        "available": ((46, 160, 67), False),
        "away": ((230, 145, 30), False),
        "break": ((41, 121, 214), False),
        "offline": ((120, 124, 130), True),
        "busy": ((211, 47, 47), False),
        "wrapup": ((142, 68, 173), False),
        "ringing": ((255, 23, 68), False, True),
    }
    for state, (rgb, *marks) in tray.items():
        png(os.path.join(ROOT, f"tray-{state}.png"), 64, icon(rgb, *marks))

if __name__ == "__main__":
    main()
