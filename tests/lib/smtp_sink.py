#!/usr/bin/python3
"""A loopback SMTP sink for tests: accepts every message and appends its
Message-ID header (one per line, flushed) to OUT. Writes the bound port to
PORTFILE. DELAY_MS slows each accepted message, so a burst takes long
enough to be interrupted.

    smtp_sink.py PORTFILE OUT [DELAY_MS]
"""
import asyncio
import sys

OUT = None
DELAY = 0.0


async def session(reader, writer):
    writer.write(b"220 sink\r\n")
    data, lines = False, []
    while True:
        try:
            line = await reader.readline()
        except ConnectionError:
            break
        if not line:
            break
        if data:
            if line == b".\r\n":
                data = False
                await asyncio.sleep(DELAY)
                mid = next((l for l in lines
                            if l.lower().startswith(b"message-id:")), b"none")
                OUT.write(mid.split(b":", 1)[-1].strip().decode() + "\n")
                OUT.flush()
                writer.write(b"250 queued\r\n")
            else:
                lines.append(line)
            continue
        cmd = line[:4].upper()
        if cmd == b"DATA":
            data, lines = True, []
            writer.write(b"354 go\r\n")
        elif cmd == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()


async def main():
    global OUT, DELAY
    OUT = open(sys.argv[2], "a")
    DELAY = (int(sys.argv[3]) if len(sys.argv) > 3 else 0) / 1000.0
    server = await asyncio.start_server(session, "127.0.0.1", 0)
    with open(sys.argv[1], "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


asyncio.run(main())
