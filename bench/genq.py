#!/usr/bin/python3
"""Write a dnsperf query file: genq.py KIND COUNT > FILE

Every name is unique (random labels), so no cache helps anyone, except
for the kind 'cached', which is a few hundred names that dnsperf repeats.

  synth   AAAA <random>.a.bench.test   (A only upstream: AAAA is synthesized)
  pass    AAAA <random>.d.bench.test   (A and AAAA: AAAA passes through)
  a       A    <random>.a.bench.test
  ptr     PTR  for 64:ff9b::5dxx:xxxx  (inside the Pref64; 93.x.x.x upstream)
  mix     40% a, 35% synth, 15% pass, 10% ptr, shuffled
  cached  COUNT distinct names (150/75/75 synth/pass/a per 300), once each;
          dnsperf loops over the file
"""

import os
import random
import sys

NIB = "0123456789abcdef"


def label(rng):
    return "%016x" % rng.getrandbits(64)


def ptr_name(v4):
    # 64:ff9b::/96 + 93.x.y.z: the last 32 bits are the IPv4 address.
    a = (0x0064ff9b << 96) | v4
    nibbles = ["%x" % ((a >> (4 * i)) & 0xF) for i in range(32)]
    return ".".join(nibbles) + ".ip6.arpa"


def main():
    kind, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    out = []
    if kind in ("ptr", "mix"):
        # unique 93.x.y.z addresses (2^24 of them)
        addrs = iter(rng.sample(range(1 << 24), min(count, 1 << 24)))
    if kind == "synth":
        out = ["%s.a.bench.test AAAA" % label(rng) for _ in range(count)]
    elif kind == "pass":
        out = ["%s.d.bench.test AAAA" % label(rng) for _ in range(count)]
    elif kind == "a":
        out = ["%s.a.bench.test A" % label(rng) for _ in range(count)]
    elif kind == "ptr":
        out = ["%s PTR" % ptr_name((93 << 24) | next(addrs))
               for _ in range(count)]
    elif kind == "mix":
        for _ in range(count):
            r = rng.random()
            if r < 0.40:
                out.append("%s.a.bench.test A" % label(rng))
            elif r < 0.75:
                out.append("%s.a.bench.test AAAA" % label(rng))
            elif r < 0.90:
                out.append("%s.d.bench.test AAAA" % label(rng))
            else:
                out.append("%s PTR" % ptr_name((93 << 24) | next(addrs)))
    elif kind == "cached":
        for i in range(count):
            r = i % 4
            if r < 2:
                out.append("c%d.a.bench.test AAAA" % i)
            elif r == 2:
                out.append("c%d.d.bench.test AAAA" % i)
            else:
                out.append("c%d.a.bench.test A" % i)
        rng.shuffle(out)
    else:
        sys.exit("genq.py: unknown kind %r" % kind)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
