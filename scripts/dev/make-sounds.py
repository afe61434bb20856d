#!/usr/bin/env python3
"""Writes the app's sounds under ui/public/sounds/ (16-bit mono WAV, stdlib only; re-run after changing one).

The Voice SDK fetches its default sounds from Twilio's CDN, which the app's CSP (and an offline desk) forbids, so
the app ships its own: the ringtone (Japanese-style 400 Hz / 15 Hz-modulated ring, 1 s on, 2 s off — loud and
unlike any notification chime), the ringback for outgoing calls, a disconnect tone, and real DTMF pairs.
"""
import math
import os
import struct
import wave

RATE = 16000
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "ui", "public", "sounds")


def write(name, samples):
    with wave.open(os.path.join(OUT, name), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", int(max(-1.0, min(1.0, s)) * 32000)) for s in samples))


def tone(freqs, seconds, volume=0.45, am_hz=None):
    n = int(seconds * RATE)
    fade = int(0.005 * RATE)  # 5 ms ramps: no clicks
    for i in range(n):
        t = i / RATE
        s = sum(math.sin(2 * math.pi * f * t) for f in freqs) / len(freqs)
        if am_hz:
            s *= 0.5 + 0.5 * math.sin(2 * math.pi * am_hz * t)
        ramp = min(1.0, i / fade, (n - 1 - i) / fade)
        yield volume * s * ramp


def silence(seconds):
    return [0.0] * int(seconds * RATE)


DTMF = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477),
    "s": (941, 1209), "0": (941, 1336), "h": (941, 1477),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    write("ring.wav", list(tone([400], 1.0, 0.6, am_hz=15)) + silence(2.0))
    write("ringback.wav", list(tone([400], 1.0, 0.3, am_hz=16)) + silence(2.0))
    write("disconnect.wav", list(tone([480, 620], 0.25, 0.35)) + silence(0.1) + list(tone([480, 620], 0.25, 0.35)))
    for key, pair in DTMF.items():
        write(f"dtmf{key}.wav", list(tone(pair, 0.12, 0.4)))


if __name__ == "__main__":
    main()
