"""
C{python -m ofx.bench}: how fast the gateway answers, next to how fast it
could at best.

The bench starts two servers as child processes, both measured the same way:

  - the gateway, C{twistd -n ofx} on the fake counter (a generated ini in a
    temporary folder, loopback ports, the demo user);
  - a bare Twisted line server (L{ofx.bench.bare}) that does only the work
    every OFX/1 answer costs -- base64, SecretBox decryption, the
    case-folding JSON decoder, the JSON encoder, Brotli and base64 -- and
    answers with canned records of the gateway's shape and size.

Load worker processes (L{ofx.bench.load}) then log N clients in and pipeline a
mix of C{100001} (latest quote) and C{210005} (insert order) for a fixed
time, first against the gateway and then against the bare server. The bench
prints commands per second, p50/p99 latency (send to answer, measured in the
worker), the CPU used by the server and the workers in the measured window,
and the gateway/bare ratio. It also times the hot path in process, without
sockets (L{ofx.bench.hotpath}): decode, dispatch and encode per message.

Modules: L{ofx.bench.main} (options and the run), L{ofx.bench.report},
L{ofx.bench.children} (spawning and stopping processes), L{ofx.bench.bare},
L{ofx.bench.load}, L{ofx.bench.hotpath}. See C{docs/benchmarks.md}.
"""
